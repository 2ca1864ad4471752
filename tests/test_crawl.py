"""The crawler against a real HTTP server on 127.0.0.1 (http.server in a thread).

The site is a small multilingual medical website written here from the sample's texts
(mmedc.sample.texts), in several encodings, with a robots.txt that disallows part of it. The server
logs every request it receives (time, Host header, path, user agent), so the tests assert from the
server's side what was and was not requested.
"""
from __future__ import annotations

import gzip
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from mmedc.sample.build import html_page
from mmedc.sample.texts import MEDICAL

ROBOTS = "User-agent: *\nDisallow: /private/\nDisallow: /*?print=\nCrawl-delay: {delay}\n"
# Language → how its pages are encoded and declared: (codec, header charset or None, meta charset or None).
ENCODINGS = {"en": ("utf-8", "utf-8", None), "ru": ("cp1251", "windows-1251", None),
             "ja": ("shift_jis", None, "shift_jis"), "zh": ("gb18030", "gbk", None),
             "fr": ("utf-8", None, "utf-8"), "es": ("utf-8", "utf-8", None)}


def page(title: str, text: str, lang: str, links: list[str], meta_charset: str | None = None) -> str:
    html = html_page(title, text, lang)
    if meta_charset:
        html = html.replace('<meta charset="utf-8">', f'<meta charset="{meta_charset}">')
    else:
        html = html.replace('<meta charset="utf-8">', "")
    nav = "".join(f'<li><a href="{u}">{u}</a></li>' for u in links)
    return html.replace("<aside><ul>", f"<aside><ul>{nav}")


class Site:
    """The routes: path → (status, headers, body). Built once; the handler reads it."""

    def __init__(self, crawl_delay: float = 0.0, big_bytes: int = 300_000, extra: dict | None = None):
        self.routes: dict[str, tuple[int, dict, bytes]] = dict(extra or {})
        self.log: list[dict] = []
        self.flaky_left = 1  # /flaky.html answers 503 this many times first
        self.lock = threading.Lock()
        lang_pages = []
        for lang, docs in MEDICAL.items():
            codec, header_cs, meta_cs = ENCODINGS[lang]
            for i, (did, title, text) in enumerate(docs):
                path = f"/{lang}/{did}.html"
                lang_pages.append(path)
                nxt = [f"/{lang}/{docs[(i + 1) % len(docs)][0]}.html", "/private/secret.html", f"{path}?print=1",
                       "/img/logo.png"]
                body = page(title, text, lang, nxt, meta_cs).encode(codec, errors="xmlcharrefreplace")
                ctype = "text/html" + (f"; charset={header_cs}" if header_cs else "")
                self.routes[path] = (200, {"Content-Type": ctype}, body)
        links = lang_pages + list(extra or {}) + ["/private/secret.html", "/big.html", "/flaky.html", "/old-page", "/missing.html",
                              "http://localhost:{port}/offsite.html", "mailto:x@example.org", "/deep/1.html"]
        self.index_links = links
        self.routes["/private/secret.html"] = (200, {"Content-Type": "text/html"},
                                               page("Secret", "Never to be crawled.", "en", ["/private/more.html"]).encode())
        self.routes["/big.html"] = (200, {"Content-Type": "text/html; charset=utf-8"},
                                    page("Big", "Lorem ipsum dolor sit amet. " * (big_bytes // 28), "en", []).encode())
        self.routes["/flaky.html"] = (200, {"Content-Type": "text/html; charset=utf-8"},
                                      page("Flaky", MEDICAL["en"][0][2], "en", []).encode())
        self.routes["/old-page"] = (301, {"Location": "/en/en-migraine.html"}, b"")
        self.routes["/img/logo.png"] = (200, {"Content-Type": "image/png"}, b"\x89PNG\r\n\x1a\n")
        for d in range(1, 8):  # a chain deeper than the tests' max_depth
            self.routes[f"/deep/{d}.html"] = (200, {"Content-Type": "text/html"},
                                              page(f"Deep {d}", f"Level {d}.", "en", [f"/deep/{d + 1}.html"]).encode())
        self.routes["/robots.txt"] = (200, {"Content-Type": "text/plain"}, ROBOTS.format(delay=crawl_delay).encode())

    def respond(self, handler: BaseHTTPRequestHandler):
        with self.lock:
            self.log.append({"t": time.monotonic(), "host": handler.headers.get("Host"), "path": handler.path,
                             "ua": handler.headers.get("User-Agent")})
            flaky = handler.path == "/flaky.html" and self.flaky_left > 0
            if flaky:
                self.flaky_left -= 1
        if flaky:
            return 503, {"Retry-After": "0", "Content-Type": "text/plain"}, b"busy"
        if handler.path == "/":
            port = handler.server.server_address[1]
            links = [u.format(port=port) for u in self.index_links]
            return 200, {"Content-Type": "text/html; charset=utf-8"}, page("Index", "A medical site.", "en", links).encode()
        if handler.path not in self.routes:
            return 404, {"Content-Type": "text/html"}, b"<html><body>not found</body></html>"
        status, headers, body = self.routes[handler.path]
        headers = dict(headers)
        if "gzip" in (handler.headers.get("Accept-Encoding") or "") and handler.path.startswith("/fr/"):
            body, headers["Content-Encoding"] = gzip.compress(body, mtime=0), "gzip"
        return status, headers, body

    def requested(self, path_prefix: str = "") -> list[str]:
        return [r["path"] for r in self.log if r["path"].startswith(path_prefix)]


def serve(site: Site):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            if self.path in ("/slow.html", "/stall.html"):
                return self.slow()
            if self.path in ("/drip.html", "/drip-head.html"):
                return self.drip()
            status, headers, body = site.respond(self)
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def slow(self):
            """/slow.html trickles 20 chunks, 0.1 s apart; /stall.html sends headers, then nothing for 3 s."""
            site.respond(self)  # logged
            chunk = b"<p>" + b"slow text " * 100 + b"</p>"
            n = 20 if self.path == "/slow.html" else 1
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(chunk) * n))
            self.end_headers()
            try:
                for _ in range(n):
                    time.sleep(0.1 if n > 1 else 3.0)
                    self.wfile.write(chunk)
                    self.wfile.flush()
            except OSError:
                pass  # the crawler hung up, as it should

        def drip(self):
            """One byte every 5 s, of the body (/drip.html) or of the status line already (/drip-head.html):
            no socket timeout ever trips."""
            site.respond(self)  # logged
            body = b"<html><body><p>" + b"drip " * 100 + b"</p></body></html>"
            head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n" % len(body)
            if self.path == "/drip.html":
                self.wfile.write(head + body[:20])
                data = body[20:]
            else:
                data = head + body
            try:
                for i in range(len(data)):
                    self.wfile.write(data[i:i + 1])
                    self.wfile.flush()
                    time.sleep(5)
            except OSError:
                pass  # the crawler hung up
            self.close_connection = True

        def log_message(self, *args):
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request, client_address):
            pass  # the crawler hanging up on an over-long page is expected

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# ---------------------------------------------------------------- tests

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from mmedc.config import CrawlConfig  # noqa: E402
from mmedc.crawl.crawler import Crawler  # noqa: E402

MAX_BYTES = 100_000


def config(**kw) -> CrawlConfig:
    base = dict(allow_private=True, delay=0.0, max_pages=200, max_depth=3, max_bytes=MAX_BYTES,
                backoff=0.05, retries=2, timeout=5.0)
    return CrawlConfig(**{**base, **kw})


def warc_records(out: Path) -> list:
    """(type, url, http status, WARC headers, payload) of every record, read back with warcio."""
    from warcio.archiveiterator import ArchiveIterator

    recs = []
    for path in sorted(out.rglob("*.warc.gz")):
        with open(path, "rb") as f:
            for r in ArchiveIterator(f):
                status = r.http_headers.get_statuscode() if r.rec_type == "response" else None
                recs.append((r.rec_type, r.rec_headers.get_header("WARC-Target-URI"), status,
                             dict(r.rec_headers.headers), r.content_stream().read()))
    return recs


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    """One crawl of the test site (shared by the tests that read its result)."""
    site = Site()
    server = serve(site)
    port = server.server_address[1]
    out = tmp_path_factory.mktemp("crawl")
    res = Crawler(config(), out, {"en": [f"http://127.0.0.1:{port}/"]}).run()
    yield site, port, out, res
    server.shutdown()


def test_robots_scope_and_limits_hold(crawled):
    site, port, out, res = crawled
    paths = site.requested()
    assert paths[0] == "/robots.txt" and paths.count("/robots.txt") == 1  # robots.txt first, once
    assert not site.requested("/private/")  # Disallow: /private/
    assert not [p for p in paths if "?print=" in p]  # Disallow: /*?print= (a wildcard rule)
    assert res.skipped["robots"] >= 1
    assert "/img/logo.png" not in paths  # not a page: never fetched
    assert {r["host"] for r in site.log} == {f"127.0.0.1:{port}"}  # never the off-site localhost link
    assert all(r["ua"].startswith("mmedc-crawler/") for r in site.log)
    # max_depth = 3: /deep/1 is at depth 1 (linked from the seed), so /deep/3 is the last one fetched.
    assert "/deep/3.html" in paths and "/deep/4.html" not in paths
    # Retries with backoff: /flaky.html answered 503 once, then 200; only the 200 is archived.
    assert paths.count("/flaky.html") == 2 and res.retries >= 1
    # Every page but robots.txt and the retried one was requested exactly once.
    pages = [p for p in paths if p not in ("/robots.txt", "/flaky.html")]
    assert len(pages) == len(set(pages))
    assert res.fetched == len(set(paths) - {"/robots.txt"}) and not res.errors


def test_warc_reads_back_with_warcio(crawled):
    site, port, out, res = crawled
    recs = warc_records(out)
    responses = {url: (status, h, body) for t, url, status, h, body in recs if t == "response"}
    assert len(responses) == res.fetched
    assert sum(t == "request" for t, *_ in recs) == res.fetched
    assert sum(t == "metadata" for t, *_ in recs) == res.fetched
    assert recs[0][0] == "warcinfo"
    base = f"http://127.0.0.1:{port}"
    # Bodies are archived as the server sent them (content_stream undoes gzip Content-Encoding).
    status, _, body = responses[f"{base}/ru/ru-angina.html"]
    assert status == "200" and body == site.routes["/ru/ru-angina.html"][2]
    assert responses[f"{base}/fr/fr-grippe.html"][2] == site.routes["/fr/fr-grippe.html"][2]
    assert responses[f"{base}/missing.html"][0] == "404" and responses[f"{base}/old-page"][0] == "301"
    assert responses[f"{base}/flaky.html"][0] == "200"
    # The size limit: a 300 kB page is cut at max_bytes and marked truncated.
    _, headers, body = responses[f"{base}/big.html"]
    assert len(body) == MAX_BYTES and headers["WARC-Truncated"] == "length"
    assert all(h.get("WARC-IP-Address") == "127.0.0.1" for _, h, _ in responses.values())


def test_crawl_delay_from_robots_is_respected():
    site = Site(crawl_delay=0.2)
    server = serve(site)
    try:
        out = Path(__import__("tempfile").mkdtemp())
        Crawler(config(max_pages=5), out, {"en": [f"http://127.0.0.1:{server.server_address[1]}/"]}).run()
    finally:
        server.shutdown()
    times = [r["t"] for r in site.log]
    assert len(times) == 6  # robots.txt + 5 pages
    assert min(b - a for a, b in zip(times, times[1:])) >= 0.19


def test_page_time_and_read_timeout(tmp_path):
    site = Site()
    server = serve(site)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        res = Crawler(config(page_time=0.5, timeout=1.0, retries=1, max_depth=0), tmp_path,
                      {"en": [f"{base}/slow.html", f"{base}/stall.html"]}).run()
    finally:
        server.shutdown()
    recs = {url: h for t, url, _, h, _ in warc_records(tmp_path) if t == "response"}
    # The trickling page is cut at page_time and archived as such; the stalled one times out, is retried
    # once, then given up and reported (never archived, so a later run tries it again).
    assert recs[f"{base}/slow.html"]["WARC-Truncated"] == "time"
    assert f"{base}/stall.html" not in recs
    assert site.requested().count("/stall.html") == 2
    assert len(res.errors) == 1 and "stall.html: gave up after 2 tries" in res.errors[0]


def test_loopback_refused_unless_allowed(tmp_path):
    from mmedc.crawl.safety import is_public

    site = Site()
    server = serve(site)
    try:
        res = Crawler(config(allow_private=False), tmp_path, {"en": [f"http://127.0.0.1:{server.server_address[1]}/"]}).run()
    finally:
        server.shutdown()
    assert site.log == [] and res.fetched == 0
    assert res.robots and all(s.startswith("refused") for s in res.robots.values())
    assert [is_public(ip) for ip in ("10.1.2.3", "192.168.0.1", "169.254.169.254", "127.0.0.1", "::1",
                                     "::ffff:127.0.0.1", "fe80::1", "100.64.0.1", "8.8.8.8", "2606:4700::1111")] == \
        [False] * 8 + [True, True]


def test_resume_never_refetches(tmp_path):
    site = Site()
    server = serve(site)
    seed = {"en": [f"http://127.0.0.1:{server.server_address[1]}/"]}
    try:
        first = Crawler(config(max_pages=6), tmp_path, seed).run()
        n_first = len(site.log)
        second = Crawler(config(max_pages=15), tmp_path, seed).run()
    finally:
        server.shutdown()
    assert first.fetched == 6 and first.stopped.startswith("max_pages")
    assert second.fetched == 9 and second.total_pages == 15
    pages = [p for p in site.requested() if p not in ("/robots.txt", "/flaky.html")]
    assert len(pages) == len(set(pages))  # nothing fetched twice across the two runs
    assert "/" not in site.requested()[n_first:]  # the seed was not fetched again
    files = sorted(p.name for p in tmp_path.rglob("*.warc.gz"))
    assert files == ["crawl-00000.warc.gz", "crawl-00001.warc.gz"]
    assert sum(t == "response" for t, *_ in warc_records(tmp_path)) == 15
    log = [__import__("json").loads(x) for x in (tmp_path / "crawl-log.jsonl").read_text().splitlines()]
    assert [(x["fetched"], x["total_pages"]) for x in log] == [(6, 6), (9, 15)]


def test_crawl_cli(tmp_path):
    from typer.testing import CliRunner

    from mmedc.cli import app

    site = Site()
    server = serve(site)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        r = CliRunner().invoke(app, ["crawl", url, "--out", str(tmp_path), "--max-pages", "3", "--delay", "0",
                                     "--allow-private", "--quiet"])
        refused = CliRunner().invoke(app, ["crawl", url, "--out", str(tmp_path / "x"), "--quiet"])
    finally:
        server.shutdown()
    assert r.exit_code == 0, r.output
    assert "3 in all" in r.output and len(list(tmp_path.rglob("*.warc.gz"))) == 1
    assert refused.exit_code == 0 and "refused" in refused.output


def test_crawl_from_recipe_needs_explicit_allow_private(tmp_path):
    """Seeds, scope and limits come from a recipe's [crawl]; loopback only with allow_private there."""
    from typer.testing import CliRunner

    from mmedc.cli import app

    site = Site()
    server = serve(site)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    recipe = """
[pipeline]
languages = ["fr", "ru"]
[[sources]]
name = "site"
kind = "warc"
paths = ["crawl"]
[crawl]
max_pages = 20
delay = 0.0
include = ['/(fr|ru)/']
{extra}
[crawl.seeds]
fr = ["{base}/fr/fr-grippe.html"]
ru = ["{base}/ru/ru-angina.html"]
"""
    try:
        (tmp_path / "no.toml").write_text(recipe.format(extra="", base=base))
        (tmp_path / "yes.toml").write_text(recipe.format(extra="allow_private = true", base=base))
        no = CliRunner().invoke(app, ["crawl", str(tmp_path / "no.toml"), "--out", str(tmp_path / "a"), "-q"])
        assert no.exit_code == 0 and site.log == []
        yes = CliRunner().invoke(app, ["crawl", str(tmp_path / "yes.toml"), "--out", str(tmp_path / "crawl"), "-q"])
    finally:
        server.shutdown()
    assert yes.exit_code == 0, yes.output
    pages = sorted(p for p in site.requested() if p != "/robots.txt")
    # include = /(fr|ru)/: the seeds' language sections only, each page once.
    assert pages == sorted(f"/{d}.html".replace("/", f"/{d[:2]}/", 1) for d in
                           ("fr-grippe", "fr-diabete", "fr-asthme", "ru-hypertension", "ru-angina", "ru-pneumonia"))
    metas = [body.decode() for t, _, _, _, body in warc_records(tmp_path / "crawl") if t == "metadata"]
    assert sum("lang: ru" in m for m in metas) == 3 and sum("lang: fr" in m for m in metas) == 3


def test_crawl_real_pages(dev_data, tmp_path):
    """Real pages (trafilatura's evaluation set, en/es/fr) served and crawled; their text comes back."""
    import gzip
    import json

    from mmedc.config import SourceConfig
    from mmedc.sources.web import read_warc

    root = dev_data / "html" / "trafilatura_eval"
    ev = [v for v in json.loads((root / "evaldata_subset.json").read_text()).values()
          if v.get("with") and v.get("html_lang_attr") in ("es", "fr", "en")]
    picked = {lang: [v for v in ev if v["html_lang_attr"] == lang][:3] for lang in ("en", "es", "fr")}
    extra = {f"/real/{i}-{lang}.html": (200, {"Content-Type": "text/html"}, gzip.decompress((root / v["path"]).read_bytes()))
             for lang, vs in picked.items() for i, v in enumerate(vs)}
    site = Site(extra=extra)
    server = serve(site)
    try:
        seed = [f"http://127.0.0.1:{server.server_address[1]}/"]
        Crawler(config(include=["/real/"], max_depth=1), tmp_path, {"en": seed}).run()
    finally:
        server.shutdown()
    assert set(extra) <= set(site.requested("/real/"))  # (their own relative links are 404s here)
    texts = {r.url.split("/", 3)[3]: r.text or "" for r in read_warc(SourceConfig("w", "warc", []), next(tmp_path.rglob("*.warc.gz")))}
    found = total = 0
    for lang, vs in picked.items():
        for i, v in enumerate(vs):
            text = " ".join(texts[f"real/{i}-{lang}.html"].split())
            found += sum(" ".join(s.split()) in text for s in v["with"])
            total += len(v["with"])
    assert found / total > 0.7


@pytest.mark.slow
def test_pipeline_consumes_the_crawl(crawled, ray_local, tmp_path):
    import polars as pl

    from mmedc.config import load_recipe
    from mmedc.engine.runner import run

    _, port, out, res = crawled
    recipe = tmp_path / "web.toml"
    recipe.write_text(f"""
[pipeline]
name = "crawl-test"
languages = ["en", "zh", "ja", "fr", "ru", "es"]

[[sources]]
name = "site"
kind = "warc"
paths = ["{out}"]
""")
    result = run(load_recipe(recipe), tmp_path / "run", progress=False)
    audit = pl.read_parquet(tmp_path / "run" / "audit" / "ingest" / "*.parquet")
    assert audit.height == res.fetched  # one ingest row per archived response
    kept = audit.filter(decision="kept")["id"].to_list()
    assert f"site:http://127.0.0.1:{port}/ru/ru-angina.html" in kept
    dropped = dict(audit.filter(decision="dropped").select("id", "reason").iter_rows())
    assert dropped[f"site:http://127.0.0.1:{port}/missing.html"] == "http_status: 404"
    langs = set(result.manifest["totals"]["by_lang"])
    assert {"en", "zh", "ja", "fr", "ru", "es"} <= langs  # every encoding decoded into a medical document


def test_a_drip_fed_page_is_cut_at_page_time(tmp_path):
    """A server sending one byte every 5 s never trips the socket timeout; page_time bounds the whole
    exchange: the body is cut and archived as such, a response whose headers never end is given up."""
    site = Site()
    server = serve(site)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    t0 = time.monotonic()
    try:
        res = Crawler(config(page_time=1.0, timeout=10.0, retries=1, max_depth=0), tmp_path,
                      {"en": [f"{base}/drip.html", f"{base}/drip-head.html"]}).run()
    finally:
        server.shutdown()
    took = time.monotonic() - t0
    recs = {url: (h, body) for t, url, _, h, body in warc_records(tmp_path) if t == "response"}
    headers, body = recs[f"{base}/drip.html"]
    assert headers["WARC-Truncated"] == "time" and body.startswith(b"<html><body><p>drip")
    assert f"{base}/drip-head.html" not in recs
    assert site.requested().count("/drip-head.html") == 2  # tried, retried once, given up
    assert len(res.errors) == 1 and "drip-head.html: gave up after 2 tries: TimeoutError: page_time (1s)" in res.errors[0]
    assert took < 4.5  # three fetches of 1 s each (the next byte would only come at 5 s)


def test_max_time_cuts_a_drip_and_archives_nothing_half_read(tmp_path):
    site = Site()
    server = serve(site)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    t0 = time.monotonic()
    try:
        res = Crawler(config(page_time=60.0, max_depth=0), tmp_path, {"en": [f"{base}/drip.html"]}).run(max_time=1.5)
    finally:
        server.shutdown()
    assert time.monotonic() - t0 < 3.5
    assert res.stopped == "max_time (1.5s) reached" and res.fetched == 0 and not res.errors
    assert site.requested() == ["/robots.txt", "/drip.html"]
    assert not [t for t, *_ in warc_records(tmp_path) if t == "response"]  # nothing half-archived: resumable


def robots_case(tmp_path, location: str | None, status: int = 301, **cfg):
    """A crawl of the test site whose robots.txt answers `status` with `location`; (site, result, base)."""
    site = Site()
    site.routes["/robots.txt"] = (status, {"Location": location} if location else {}, b"")
    site.routes["/robots-real.txt"] = (200, {"Content-Type": "text/plain"}, b"User-agent: *\nDisallow: /en/\n")
    server = serve(site)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        res = Crawler(config(max_pages=20, max_depth=1, **cfg), tmp_path,
                      {"en": [f"{base}/"]}).run()
    finally:
        server.shutdown()
    return site, res, base


def test_robots_redirect_within_scope_is_followed(tmp_path):
    site, res, base = robots_case(tmp_path, "/robots-real.txt")
    assert site.requested()[:2] == ["/robots.txt", "/robots-real.txt"]
    assert res.fetched > 1 and not site.requested("/en/") and res.skipped["robots"] >= 1  # its rules apply


def test_robots_redirect_out_of_scope_is_not_followed(tmp_path, monkeypatch):
    """robots.txt redirecting off the seed's domain: the target is never resolved nor connected to, and
    the host is disallowed for the run."""
    import socket

    asked, connected = [], []
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **k: asked.append(host) or real_getaddrinfo(host, *a, **k))
    monkeypatch.setattr(socket.socket, "connect", lambda self, addr: connected.append(addr) or real_connect(self, addr))
    site, res, base = robots_case(tmp_path, "http://evil.example/robots.txt")
    assert site.requested() == ["/robots.txt"] and res.fetched == 0 and res.skipped["robots"] == 1
    (status,) = res.robots.values()
    assert status == "disallowed: robots.txt redirects out of the crawl's scope (http://evil.example/robots.txt)"
    assert "evil.example" not in asked and all(addr[0] == "127.0.0.1" for addr in connected)


def test_unreachable_robots_redirect_target_disallows_the_host(tmp_path):
    """RFC 9309: a robots.txt that cannot be reached means the whole host is disallowed (it was allow-all)."""
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    site, res, base = robots_case(tmp_path, f"http://127.0.0.1:{closed}/robots.txt")
    assert site.requested() == ["/robots.txt"] and res.fetched == 0
    (status,) = res.robots.values()
    assert status.startswith(f"unreachable (http://127.0.0.1:{closed}/robots.txt")
    for where, why in (("file:///etc/passwd", "non-http(s) URL"), (None, None)):
        site, res, _ = robots_case(tmp_path / str(where is None), where, status=302 if where else 503)
        (status,) = res.robots.values()
        assert res.fetched == 0 and (why in status if why else status == "unreachable (503)"), status


def test_robots_redirect_loop_disallows_the_host(tmp_path):
    site, res, _ = robots_case(tmp_path, "/robots.txt")
    assert site.requested() == ["/robots.txt"] * 6 and res.fetched == 0  # five redirects followed, then no more
    assert list(res.robots.values()) == ["disallowed: more than 5 redirects"]


def test_a_name_resolving_to_a_private_address_is_never_connected_to(tmp_path, monkeypatch):
    """A stubbed resolver answers a private address for the seed's name: the crawler refuses before any
    connection, robots.txt included."""
    import socket

    connected = []
    real_getaddrinfo = socket.getaddrinfo

    def resolver(host, *a, **k):
        if host.endswith("med.test"):
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", 80))]
        return real_getaddrinfo(host, *a, **k)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    monkeypatch.setattr(socket.socket, "connect", lambda self, addr: connected.append(addr))
    monkeypatch.setattr(socket.socket, "connect_ex", lambda self, addr: connected.append(addr))
    res = Crawler(config(allow_private=False), tmp_path, {"en": ["http://med.test/", "http://www.med.test/a"]}).run()
    assert connected == [] and res.fetched == 0
    assert sorted(res.robots.values()) == ["refused: non-public address 10.1.2.3 (set allow_private to crawl it)"] * 2


def test_overlong_links_are_not_followed():
    from mmedc.crawl.crawler import MAX_URL, normalize

    assert normalize("HTTP://Med.Example:80/a#b") == "http://med.example/a"
    assert normalize("http://med.example/" + "x" * MAX_URL) is None  # it would be a WARC header line
