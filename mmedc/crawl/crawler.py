"""The crawl loop: a frontier per host, politeness per host, every response archived.

One thread is enough: politeness (≥ 1 s between requests to a host) bounds the rate, not the CPU.
The loop picks the host whose next allowed request time is the earliest, waits for it, and fetches
one URL from that host's queue. Order of checks for a URL: already fetched → robots.txt → address
safety → fetch (with retries) → archive → queue its in-scope links.

PDFs (a link ending `.pdf`, or a response typed as one) are leaves: fetched one step past max_depth,
only under `pdf_paths` when that is set, whole up to `pdf_max_bytes` or not archived at all (a cut
PDF is unreadable). Licence hints (mmedc.crawl.licence) of a page, of a PDF's metadata, or of the
page that linked to a PDF go into the response record's MMedC-Licence headers.
"""
from __future__ import annotations

import re
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit, urlunsplit

from mmedc.config import CrawlConfig
from mmedc.crawl.archive import Archive, load_state
from mmedc.crawl.fetch import RETRY_STATUS, Fetched, Fetcher, RunDeadline
from mmedc.crawl.licence import page_licence, pdf_licence
from mmedc.crawl.robots import HostRules, rules_from_response
from mmedc.crawl.safety import Refused

MAX_ROBOTS_REDIRECTS = 5  # RFC 9309: follow at least five
MAX_URL = 8192  # longer links are not followed: servers refuse them, and they make huge WARC header lines
SKIP_EXT = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".svg", ".ico", ".css", ".js", ".mp3", ".mp4", ".avi",
            ".mov", ".zip", ".gz", ".tar", ".exe", ".dmg", ".woff", ".woff2", ".ttf", ".xml", ".rss", ".json")
PDF_TYPES = ("application/pdf", "application/x-pdf")
UNTYPED = ("", "application/octet-stream", "binary/octet-stream", "application/download",
           "application/force-download")  # a server that does not say: the URL or Content-Disposition does


@dataclass
class CrawlResult:
    out: Path
    fetched: int = 0  # responses archived by this run
    total_pages: int = 0  # responses in the archive, all runs
    skipped: Counter = field(default_factory=Counter)  # robots / refused / ... → count
    errors: list[str] = field(default_factory=list)  # URLs given up on, with why
    statuses: Counter = field(default_factory=Counter)
    retries: int = 0
    files: list[str] = field(default_factory=list)
    robots: dict[str, str] = field(default_factory=dict)  # host → robots.txt status
    stopped: str = "frontier empty"


def normalize(url: str) -> str | None:
    """Scheme and host lower-cased, default port and fragment dropped; None for non-http(s) links
    and for URLs over MAX_URL (it becomes a WARC header line)."""
    if len(url) > MAX_URL:
        return None
    url, _ = urldefrag(url.strip())
    p = urlsplit(url)
    if p.scheme.lower() not in ("http", "https") or not p.hostname:
        return None
    host = p.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}[p.scheme.lower()]
    try:
        port = p.port
    except ValueError:
        return None
    netloc = host if port in (None, default) else f"{host}:{port}"
    return urlunsplit((p.scheme.lower(), netloc, p.path or "/", p.query, ""))


def host_of(url: str) -> str:
    return urlsplit(url).netloc


def pdf_link(url: str) -> bool:
    return urlsplit(url).path.lower().endswith(".pdf")


def is_pdf(f: Fetched) -> bool:
    """A response carrying a PDF: typed as one, or untyped with a .pdf URL or attachment name."""
    ctype = (f.header("Content-Type") or "").split(";")[0].strip().lower()
    if ctype in PDF_TYPES:
        return True
    disposition = (f.header("Content-Disposition") or "").lower()
    return ctype in UNTYPED and (pdf_link(f.url) or bool(re.search(r"filename\*?=[^;]*\.pdf", disposition)))


class Scope:
    """Which links are followed: on the allowed domains (default: the seeds' hosts and their
    subdomains), matching `include` (when given), not `exclude`, not an obvious non-page file; a
    PDF only when PDFs are collected and, when `pdf_paths` is set, under one of them."""

    def __init__(self, cfg: CrawlConfig, seeds: list[str]):
        self.domains = [d.lower().strip(".") for d in cfg.allowed_domains] or sorted(
            {urlsplit(s).hostname for s in seeds})
        self.include = [re.compile(p) for p in cfg.include]
        self.exclude = [re.compile(p) for p in cfg.exclude]
        self.pdfs, self.pdf_paths = cfg.pdfs, tuple(cfg.pdf_paths)

    def pdf_declined(self, url: str) -> str | None:
        """Why a PDF at `url` is not collected (`pdf_off`, `pdf_path`), or None."""
        if not self.pdfs:
            return "pdf_off"
        if self.pdf_paths and not urlsplit(url).path.startswith(self.pdf_paths):
            return "pdf_path"
        return None

    def on_domain(self, url: str) -> bool:
        h = urlsplit(url).hostname or ""
        return any(h == d or h.endswith("." + d) for d in self.domains)

    def follows(self, url: str) -> bool:
        if not self.on_domain(url) or urlsplit(url).path.lower().endswith(SKIP_EXT):
            return False
        if self.include and not any(p.search(url) for p in self.include):
            return False
        if any(p.search(url) for p in self.exclude):
            return False
        return not (pdf_link(url) and self.pdf_declined(url))


def extract_links(fetched, max_bytes: int) -> list[str]:
    """Absolute <a>/<area> hrefs of an HTML response; none when the page says nofollow."""
    return read_page(fetched, max_bytes)[0]


def read_page(fetched, max_bytes: int) -> tuple[list[str], str | None]:
    """The links of an HTML response (extract_links) and the licence hint the page shows, if any."""
    import lxml.html

    from mmedc.extract.html import decode_html

    ctype = (fetched.header("Content-Type") or "").lower()
    if "html" not in ctype:
        return [], None
    raw = fetched.decoded_body(max_bytes)
    if not raw.strip():
        return [], None
    try:
        doc = lxml.html.document_fromstring(decode_html(raw, ctype)[0].encode("utf-8"),
                                            parser=lxml.html.HTMLParser(encoding="utf-8"))
    except Exception:  # noqa: BLE001 - unparseable page: archived, no links
        return [], None
    base = (doc.xpath("//base/@href") or [fetched.url])[0]
    base = urljoin(fetched.url, base)
    try:
        licence = page_licence(doc, base)
    except Exception:  # noqa: BLE001 - a hint, never a reason to lose the page's links
        licence = None
    robots_meta = " ".join(doc.xpath("//meta[translate(@name,'ROBTS','robts')='robots']/@content")).lower()
    if "nofollow" in robots_meta or "none" in robots_meta:
        return [], licence
    links = []
    for el in doc.xpath("//a[@href] | //area[@href]"):
        if "nofollow" in (el.get("rel") or "").lower():
            continue
        u = normalize(urljoin(base, el.get("href")))
        if u:
            links.append(u)
    return list(dict.fromkeys(links)), licence


@dataclass
class Host:
    queue: deque = field(default_factory=deque)  # (url, depth, lang, attempt)
    next_time: float = 0.0
    rules: HostRules | None = None


class Crawler:
    def __init__(self, cfg: CrawlConfig, out: Path, seeds: dict[str, list[str]] | None = None, progress=None):
        self.cfg, self.out = cfg, Path(out)
        self.seeds = {lang: [u for u in (normalize(s) for s in urls) if u] for lang, urls in (seeds or cfg.seeds).items()}
        all_seeds = [u for urls in self.seeds.values() for u in urls]
        if not all_seeds:
            raise ValueError("no seed URLs (give URLs, or a recipe whose [crawl.seeds] lists some)")
        self.scope = Scope(cfg, all_seeds)
        self.fetcher = Fetcher(cfg.user_agent, cfg.timeout, cfg.page_time, cfg.max_bytes, cfg.allow_private)
        self.hosts: dict[str, Host] = {}
        self.queued: set[str] = set()
        self.link_licence: dict[str, tuple[str, str]] = {}  # url -> (licence hint, page that linked to it)
        self.declined_links: set[str] = set()  # PDF links left out by pdfs / pdf_paths (counted once)
        self.progress = progress  # callable(n_done, total, note) or None

    def _queue(self, url: str, depth: int, lang: str, front=False, attempt=0):
        h = self.hosts.setdefault(host_of(url), Host())
        (h.queue.appendleft if front else h.queue.append)((url, depth, lang, attempt))
        self.queued.add(url)

    def _wait_for(self, h: Host):
        now = time.monotonic()
        if h.next_time > now:
            time.sleep(h.next_time - now)

    def _delay(self, h: Host) -> float:
        robots = h.rules.delay if h.rules and h.rules.delay else 0.0
        return min(max(self.cfg.delay, robots), max(self.cfg.max_delay, self.cfg.delay))

    def _load_robots(self, host: str, h: Host, sample_url: str, res: CrawlResult, deadline: float | None):
        """robots.txt of the host, RFC 9309: 2xx → its rules, 4xx → none, 5xx or unreachable → the host is
        disallowed for this run. Redirects are followed (up to MAX_ROBOTS_REDIRECTS) only within the
        crawl's scope, and every hop goes through the fetcher's address checks like any page; a redirect
        out of scope, a refused address, a cut or unreachable target disallows the host.
        Raises RunDeadline when the crawl's time runs out first (the host's rules stay unknown)."""
        p = urlsplit(sample_url)
        robots_url = f"{p.scheme}://{p.netloc}/robots.txt"
        rules = None
        for hop in range(MAX_ROBOTS_REDIRECTS + 1):
            if hop:
                if robots_url is None:
                    rules = HostRules(None, deny_all=True, status="disallowed: robots.txt redirects to a non-http(s) URL")
                    break
                if not self.scope.on_domain(robots_url):
                    rules = HostRules(None, deny_all=True,
                                      status=f"disallowed: robots.txt redirects out of the crawl's scope ({robots_url})")
                    break
                self._wait_for(h)
            try:
                f = self.fetcher.get(robots_url, deadline)
            except RunDeadline:
                raise
            except Refused as e:
                rules = HostRules(None, deny_all=True, status=f"refused: {e}")
                break
            except Exception as e:  # noqa: BLE001 - unreachable: the host is off limits this run
                res.errors.append(f"{robots_url}: {type(e).__name__}: {e}")
                rules = HostRules(None, deny_all=True, status=f"unreachable ({robots_url}: {type(e).__name__})")
                break
            finally:
                h.next_time = time.monotonic() + self.cfg.delay
            loc = f.header("Location")
            if f.status in (301, 302, 303, 307, 308) and loc:
                robots_url = normalize(urljoin(robots_url, loc))
                continue
            if f.truncated == "time":  # rules read in part could allow what the rest forbids
                rules = HostRules(None, deny_all=True, status=f"unreachable ({robots_url}: not whole within page_time)")
            else:
                rules = rules_from_response(f.status, f.decoded_body(500_000), self.cfg.user_agent)
            break
        if rules is None:
            rules = HostRules(None, deny_all=True, status=f"disallowed: more than {MAX_ROBOTS_REDIRECTS} redirects")
        h.rules = rules
        res.robots[host] = rules.status
        h.next_time = time.monotonic() + self._delay(h)

    def run(self, max_time: float | None = None) -> CrawlResult:
        cfg = self.cfg
        self.out.mkdir(parents=True, exist_ok=True)
        state = load_state(self.out)
        res = CrawlResult(self.out, total_pages=state.pages, errors=list(state.errors))
        for lang, urls in self.seeds.items():
            for u in urls:
                if u not in state.fetched and u not in self.queued:
                    self._queue(u, 0, lang)
        self.link_licence.update(state.licences)
        for u, (depth, lang) in state.found.items():
            if u not in state.fetched and u not in self.queued and self.scope.follows(u) and (
                    depth <= cfg.max_depth or (depth == cfg.max_depth + 1 and pdf_link(u))):
                self._queue(u, depth, lang)
        archive = Archive(self.out, cfg.user_agent)
        t_end = time.monotonic() + max_time if max_time else None
        try:
            while True:
                if res.total_pages >= cfg.max_pages:
                    res.stopped = f"max_pages ({cfg.max_pages}) reached"
                    break
                ready = [(h.next_time, name) for name, h in self.hosts.items() if h.queue]
                if not ready:
                    break
                _, name = min(ready)
                h = self.hosts[name]
                if t_end and max(h.next_time, time.monotonic()) > t_end:
                    res.stopped = f"max_time ({max_time:g}s) reached"
                    break
                url, depth, lang, attempt = h.queue.popleft()
                if url in state.fetched:
                    continue
                if h.rules is None:
                    self._wait_for(h)
                    h.queue.appendleft((url, depth, lang, attempt))  # back through the time check above
                    try:
                        self._load_robots(name, h, url, res, t_end)
                    except RunDeadline:
                        res.stopped = f"max_time ({max_time:g}s) reached"
                        break
                    continue
                if not h.rules.allowed(url, cfg.user_agent):
                    res.skipped["robots"] += 1
                    continue
                self._wait_for(h)
                try:
                    f = self.fetcher.get(url, t_end, self._body_limit)
                except RunDeadline:  # cut by the crawl's end, not the page's fault: fetched again next run
                    h.queue.appendleft((url, depth, lang, attempt))
                    res.stopped = f"max_time ({max_time:g}s) reached"
                    break
                except Refused as e:
                    res.skipped["refused"] += 1
                    res.errors.append(f"{url}: refused: {e}")
                    continue
                except Exception as e:  # noqa: BLE001 - network failure: retry with backoff, then give up
                    h.next_time = time.monotonic() + self._delay(h)
                    self._retry_or_give_up(h, url, depth, lang, attempt, f"{type(e).__name__}: {e}", None, res)
                    continue
                h.next_time = time.monotonic() + self._delay(h)
                if f.status in RETRY_STATUS and attempt < cfg.retries:
                    self._retry_or_give_up(h, url, depth, lang, attempt, f"HTTP {f.status}", f.header("Retry-After"), res)
                    continue
                pdf = is_pdf(f)
                if f.declined or (pdf and f.truncated and 200 <= f.status < 300):
                    self._decline(f, res)  # not archived: a PDF not wanted, or not whole
                    continue
                redirect = None
                if 300 <= f.status < 400 and f.header("Location"):
                    redirect = normalize(urljoin(url, f.header("Location")))
                links, licence = read_page(f, cfg.max_bytes) if 200 <= f.status < 300 else ([], None)
                left_out = self._declined_pdfs(links, res)
                links = [u for u in links if self.scope.follows(u) and (depth < cfg.max_depth or pdf_link(u))]
                if licence:  # a PDF linked from here may say nothing itself: the page's hint goes with it
                    for u in links:
                        self.link_licence.setdefault(u, (licence, url))
                hint = (licence, "page") if licence else None
                if pdf and 200 <= f.status < 300:
                    hint = self._pdf_hint(f)
                dest = archive.write(f, depth, lang, links, redirect, hint, left_out)
                state.fetched.add(url)
                res.fetched += 1
                res.total_pages += 1
                res.statuses[f.status] += 1
                if str(dest) not in res.files:
                    res.files.append(str(dest))
                if redirect and self.scope.on_domain(redirect) and redirect not in self.queued:
                    self._queue(redirect, depth, lang)
                    if url in self.link_licence:  # a PDF link that redirects: its hint goes to the target
                        self.link_licence.setdefault(redirect, self.link_licence[url])
                for u in links:
                    if u not in self.queued and u not in state.fetched:
                        self._queue(u, depth + 1, lang)
                if self.progress:
                    self.progress(res.total_pages, cfg.max_pages, url)
        except KeyboardInterrupt:  # a re-run continues; a fetch cut mid-write is a damaged tail it skips
            res.stopped = "interrupted"
        self._log_run(res)
        return res

    def _body_limit(self, f: Fetched) -> tuple[int, str | None]:
        """The fetcher's cap on a response body: max_bytes for pages, pdf_max_bytes for PDFs; a PDF
        not collected, or declared larger than pdf_max_bytes, is declined before its body is read."""
        if not is_pdf(f):
            return self.cfg.max_bytes, None
        if 200 <= f.status < 300:
            if why := self.scope.pdf_declined(f.url):
                return 0, why
            try:
                size = int(f.header("Content-Length") or -1)
            except ValueError:
                size = -1
            if size > self.cfg.pdf_max_bytes:
                return 0, "pdf_too_large"
            return self.cfg.pdf_max_bytes, None
        return self.cfg.max_bytes, None  # an error page typed as a PDF

    def _decline(self, f: Fetched, res: CrawlResult):
        why = f.declined or ("pdf_too_large" if f.truncated == "length" else "pdf_cut")
        res.skipped[why] += 1
        if why == "pdf_too_large":
            size = f"{f.header('Content-Length')} bytes" if f.declined else "longer than that"
            res.errors.append(f"{f.url}: PDF not archived: pdf_max_bytes ({self.cfg.pdf_max_bytes}), {size}")
        elif why == "pdf_cut":
            res.errors.append(f"{f.url}: PDF not archived: not whole within page_time ({self.cfg.page_time:g}s)")

    def _declined_pdfs(self, links: list[str], res: CrawlResult) -> list[str]:
        """PDF links on the crawl's domains that pdfs / pdf_paths leave out, each counted once (crawl log's
        `skipped`). The page's metadata record lists them, so a later run with wider settings finds them."""
        out = []
        for u in links:
            if pdf_link(u) and self.scope.on_domain(u) and (why := self.scope.pdf_declined(u)):
                out.append(u)
                if u not in self.declined_links:
                    self.declined_links.add(u)
                    res.skipped[why] += 1
        return out

    def _pdf_hint(self, f: Fetched) -> tuple[str, str] | None:
        """The PDF's own metadata first, else the licence of the page that linked to it."""
        if found := pdf_licence(f.decoded_body(max(self.cfg.pdf_max_bytes, len(f.body)))):
            return found
        if f.url in self.link_licence:
            licence, page = self.link_licence[f.url]
            return licence, f"linking page {page}"
        return None

    def _log_run(self, res: CrawlResult):
        """One line per run in OUT/crawl-log.jsonl: what was fetched, skipped, retried and given up."""
        import json
        from datetime import datetime, timezone

        line = {"finished": datetime.now(timezone.utc).isoformat(timespec="seconds"), "fetched": res.fetched,
                "total_pages": res.total_pages, "stopped": res.stopped, "statuses": dict(res.statuses),
                "skipped": dict(res.skipped), "retries": res.retries, "robots": res.robots, "errors": res.errors,
                "files": res.files}
        with open(self.out / "crawl-log.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")

    def _retry_or_give_up(self, h: Host, url, depth, lang, attempt, why, retry_after, res: CrawlResult):
        if attempt >= self.cfg.retries:
            res.errors.append(f"{url}: gave up after {attempt + 1} tries: {why}")
            return
        wait = self.cfg.backoff * (2 ** attempt)
        try:
            wait = max(wait, float(retry_after)) if retry_after else wait
        except ValueError:
            pass  # an HTTP-date Retry-After: the backoff stands
        res.retries += 1
        h.next_time = time.monotonic() + min(wait, self.cfg.max_delay)
        self._queue(url, depth, lang, front=True, attempt=attempt + 1)
