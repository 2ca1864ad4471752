"""The crawl's WARC files: OUT/<host>/crawl-NNNNN.warc.gz, a new file per run and host.

Each fetch is archived as three records written in one append: `request`, `response` (status line,
headers and body as received) and `metadata` (depth, language, the in-scope links found, a redirect
target, `pdf-left-out` links). The metadata records make the archive the crawl's whole state: a later
run reads them back to know what was fetched (never fetched again) and what was found but not yet
fetched (its own scope rules decide what of it to fetch).

A licence hint (mmedc.crawl.licence) goes on the response record as two extension headers,
`MMedC-Licence` (the licence URL or name) and `MMedC-Licence-From` (`page`, `linking page <url>`,
`pdf metadata <field>`, `pdf xmp ...`), which the WARC reader copies into the document's metadata;
the metadata record repeats them (`licence:`, `licence-from:`) so that a later run knows the licence
of a page whose links it has not fetched yet.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from mmedc import __version__

WARC_NAME = re.compile(r"crawl-(\d{5})\.warc\.gz$")


def host_dir_name(url: str) -> str:
    return re.sub(r"[^\w.-]", "_", urlsplit(url).netloc.lower())


@dataclass
class CrawlState:
    fetched: set[str] = field(default_factory=set)
    found: dict[str, tuple[int, str]] = field(default_factory=dict)  # url -> (depth, lang), in order found
    pages: int = 0
    errors: list[str] = field(default_factory=list)  # archives that ended in damage (a crashed run)
    licences: dict[str, tuple[str, str]] = field(default_factory=dict)  # outlink -> (licence, linking page)


def _fields(payload: bytes) -> list[tuple[str, str]]:
    out = []
    for line in payload.decode("utf-8", errors="replace").splitlines():
        k, sep, v = line.partition(":")
        if sep:
            out.append((k.strip(), v.strip()))
    return out


def load_state(out: Path) -> CrawlState:
    """Everything earlier runs archived under `out`; a damaged tail (a crash mid-write) ends that file's scan."""
    from mmedc.sources.warc_headers import bounded_iterator

    st = CrawlState()
    for path in sorted(out.glob("*/crawl-*.warc.gz")):
        try:
            with open(path, "rb") as f:
                for rec in bounded_iterator(f):  # header reading bounded, as for any WARC read
                    url = rec.rec_headers.get_header("WARC-Target-URI")
                    if rec.rec_type == "response":
                        if url not in st.fetched:
                            st.fetched.add(url)
                            st.pages += 1
                    elif rec.rec_type == "metadata" and url:
                        meta = _fields(rec.content_stream().read())
                        depth = int(next((v for k, v in meta if k == "depth"), "0"))
                        lang = next((v for k, v in meta if k == "lang"), "")
                        named = dict(meta)
                        own = named.get("licence-from") == "page" and named.get("licence")  # outlinks inherit it
                        for k, v in meta:
                            if k in ("outlink", "redirect", "pdf-left-out"):
                                st.found.setdefault(v, (depth + (k != "redirect"), lang))
                                if own and k != "redirect":
                                    st.licences.setdefault(v, (own, url))
        except Exception as e:  # noqa: BLE001 - keep what was read; the next run writes a new file
            st.errors.append(f"{path}: {type(e).__name__}: {e}")
    return st


def _one_line(v: str) -> str:
    """A header value: no line breaks, no control characters (it comes from a page or a PDF)."""
    return " ".join("".join(c if c.isprintable() else " " for c in v).split())


class Archive:
    """Appends fetches to one new WARC file per host for this run."""

    def __init__(self, out: Path, user_agent: str):
        self.out, self.user_agent = out, user_agent
        self.files: dict[str, Path] = {}

    def _file(self, url: str) -> Path:
        host = host_dir_name(url)
        if host not in self.files:
            d = self.out / host
            d.mkdir(parents=True, exist_ok=True)
            used = [int(m.group(1)) for p in d.iterdir() if (m := WARC_NAME.search(p.name))]
            path = d / f"crawl-{max(used, default=-1) + 1:05d}.warc.gz"
            self.files[host] = path
            self._append(path, [self._warcinfo(path.name)])
        return self.files[host]

    def _warcinfo(self, name: str):
        from warcio.warcwriter import WARCWriter

        w = WARCWriter(io.BytesIO(), gzip=True)
        return w.create_warcinfo_record(name, {"software": f"mmedc-crawler/{__version__} (warcio)",
                                               "format": "WARC File Format 1.1", "robots": "obey",
                                               "http-header-user-agent": self.user_agent})

    @staticmethod
    def _append(path: Path, records):
        from warcio.warcwriter import WARCWriter

        buf = io.BytesIO()
        w = WARCWriter(buf, gzip=True, warc_version="1.1")
        for r in records:
            w.write_record(r)
        with open(path, "ab") as f:  # one write per fetch: a crash leaves whole fetches or a damaged tail
            f.write(buf.getvalue())
            f.flush()

    def write(self, fetched, depth: int, lang: str, outlinks: list[str], redirect: str | None,
              licence: tuple[str, str] | None = None, left_out: list[str] = ()) -> Path:
        """Request, response and metadata records of one fetch; `licence` = (hint, where it was found);
        `left_out`: PDF links the crawl's pdfs / pdf_paths did not take (found again by a wider run)."""
        from warcio.statusandheaders import StatusAndHeaders
        from warcio.warcwriter import WARCWriter

        w = WARCWriter(io.BytesIO(), gzip=True, warc_version="1.1")
        path = urlsplit(fetched.url)
        target = (path.path or "/") + (f"?{path.query}" if path.query else "")
        req = w.create_warc_record(
            fetched.url, "request", payload=io.BytesIO(b""),
            http_headers=StatusAndHeaders(f"GET {target} HTTP/1.1", fetched.request_headers, is_http_request=True))
        extra = {"WARC-IP-Address": fetched.ip}
        if fetched.truncated:
            extra["WARC-Truncated"] = fetched.truncated
        if licence:
            extra["MMedC-Licence"], extra["MMedC-Licence-From"] = (_one_line(v) for v in licence)
        http = StatusAndHeaders(f"{fetched.status} {fetched.reason}".strip(), fetched.headers, protocol="HTTP/1.1")
        resp = w.create_warc_record(fetched.url, "response", payload=io.BytesIO(fetched.body),
                                    http_headers=http, warc_headers_dict=extra)
        req.rec_headers.add_header("WARC-Concurrent-To", resp.rec_headers.get_header("WARC-Record-ID"))
        lines = [f"depth: {depth}", f"lang: {lang}", f"fetch-time-ms: {round(fetched.seconds * 1000)}"]
        lines += [f"redirect: {redirect}"] if redirect else []
        lines += [f"licence: {_one_line(licence[0])}", f"licence-from: {_one_line(licence[1])}"] if licence else []
        lines += [f"outlink: {u}" for u in outlinks]
        lines += [f"pdf-left-out: {u}" for u in left_out]
        meta = w.create_warc_record(fetched.url, "metadata", payload=io.BytesIO("\n".join(lines).encode() + b"\n"),
                                    warc_content_type="application/warc-fields",
                                    warc_headers_dict={"WARC-Concurrent-To": resp.rec_headers.get_header("WARC-Record-ID")})
        dest = self._file(fetched.url)
        self._append(dest, [req, resp, meta])
        return dest
