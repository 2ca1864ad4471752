"""`mmedc crawl` collecting PDFs from a real HTTP server on 127.0.0.1, then `mmedc run` and
`mmedc extract` on the WARC it wrote.

The site: an index page under CC BY (`<link rel="license">`) linking to a guideline PDF with a text
layer (whose metadata names its own licence) and to a chapter page; the chapter page links to a
Creative Commons licence and to a scanned book (an image-only page: OCR). Around them: a PDF outside
the recipe's `pdf_paths`, a PDF served under a URL without `.pdf` (outside them too), one robots.txt
disallows, and two over `pdf_max_bytes` (one declares its size, one does not).
"""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from mmedc.extract.book_samples import PageSpec, write_pdf
from mmedc.sample.texts import MEDICAL

PDF_MAX = 300_000
GUIDE_TEXT = MEDICAL["en"][0][2]  # the text-layer PDF
SCAN_TEXT = MEDICAL["en"][1][2]  # the scanned one
MOVED_TEXT = ("Asthma is a chronic inflammatory disease of the airways. Patients have episodes of wheezing, "
              "cough, chest tightness and shortness of breath, often at night or after exercise. The diagnosis "
              "rests on symptoms and on spirometry showing reversible airflow obstruction. Inhaled "
              "corticosteroids are the mainstay of treatment, and a short-acting bronchodilator relieves acute "
              "attacks. Severe exacerbations need oxygen, systemic steroids and care in hospital.")
BY, BY_SA = "https://creativecommons.org/licenses/by/4.0/", "https://creativecommons.org/licenses/by-sa/4.0/"


def html(title: str, links: list[str], head: str = "", body: str = "") -> bytes:
    nav = "".join(f'<li><a href="{u}">{u}</a></li>' for u in links)
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>{head}</head>'
            f"<body><h1>{title}</h1><p>{MEDICAL['en'][2][2]}</p><ul>{nav}</ul>{body}</body></html>").encode()


def pdfs(tmp: Path) -> tuple[bytes, bytes]:
    """(text-layer guideline whose metadata says CC BY-NC 4.0, scanned book with no licence of its own)."""
    from mmedc.extract.pymupdf_import import load_pymupdf

    write_pdf(tmp / "guide.pdf", [PageSpec([GUIDE_TEXT])], title="Diabetes guideline")
    write_pdf(tmp / "scan.pdf", [PageSpec([SCAN_TEXT], kind="scan")], title="Pneumonia")
    doc = load_pymupdf().open(tmp / "guide.pdf")
    doc.set_metadata({**doc.metadata, "subject": "Released under a cc-by-nc 4.0 licence"})
    guide = doc.tobytes()
    return guide, (tmp / "scan.pdf").read_bytes()


class Site:
    def __init__(self, tmp: Path):
        guide, scan = pdfs(tmp)
        moved = write_pdf(tmp / "moved.pdf", [PageSpec([MOVED_TEXT])], title="Asthma").read_bytes()
        big = b"%PDF-1.4\n" + b"0" * (PDF_MAX + 100_000)
        self.routes = {
            "/robots.txt": ("text/plain", b"User-agent: *\nDisallow: /books/private/\n"),
            "/": ("text/html; charset=utf-8", html("Index", [
                "/books/guide.pdf", "/chapter.html", "/leaflets/flyer.pdf", "/download?id=7", "/books/private/secret.pdf",
                "/books/huge.pdf", "/books/stream.pdf", "/books/old.pdf"], head=f'<link rel="license" href="{BY}">')),
            "/chapter.html": ("text/html", html("Chapter", ["/books/scan.pdf", "/deeper.html"],
                                                body=f'<footer><a href="{BY_SA}">CC BY-SA</a></footer>')),
            "/deeper.html": ("text/html", html("Deeper", [])),  # depth 2 > max_depth: never fetched
            "/books/guide.pdf": ("application/pdf", guide),
            "/books/scan.pdf": ("application/octet-stream", scan),  # untyped: the .pdf URL says it
            "/download?id=7": ("application/pdf", guide),  # a PDF by type, outside pdf_paths
            "/leaflets/flyer.pdf": ("application/pdf", guide),
            "/books/private/secret.pdf": ("application/pdf", guide),
            "/books/huge.pdf": ("application/pdf", big),
            "/books/stream.pdf": ("application/pdf", big),  # sent without Content-Length
            "/books/old.pdf": ("redirect", b"/books/moved.pdf"),  # the linking page's licence follows it
            "/books/moved.pdf": ("application/pdf", moved),  # no licence of its own
        }
        self.log: list[str] = []
        self.lock = threading.Lock()


def serve(site: Site):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            with site.lock:
                site.log.append(self.path)
            ctype, body = site.routes.get(self.path, ("text/html", None))
            if ctype == "redirect":
                self.send_response(301)
                self.send_header("Location", body.decode())
                ctype, body = "text/html", b""
            else:
                self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", ctype)
            body = b"not found" if body is None else body
            if self.path == "/books/stream.pdf":  # length unknown until the connection closes
                self.send_header("Connection", "close")
                self.close_connection = True
            else:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except OSError:
                pass  # the crawler hung up on a body it does not want

        def log_message(self, *args):
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request, client_address):
            pass

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


RECIPE = """
[pipeline]
name = "crawl-pdfs"
languages = ["en"]

[[sources]]
name = "site"
kind = "warc"
paths = ["crawl"]
lang = "en"

[crawl]
allow_private = true
delay = 0.0
max_depth = 1
retries = 0
pdf_paths = ["/books/"]
pdf_max_bytes = {pdf_max}

[crawl.seeds]
en = ["{base}/"]
"""


def responses(out: Path) -> dict[str, tuple[dict, bytes]]:
    from warcio.archiveiterator import ArchiveIterator

    got = {}
    for path in sorted(out.rglob("*.warc.gz")):
        with open(path, "rb") as f:
            for r in ArchiveIterator(f):
                if r.rec_type == "response":
                    got[r.rec_headers.get_header("WARC-Target-URI")] = (dict(r.rec_headers.headers),
                                                                        r.content_stream().read())
    return got


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    """The site crawled once with `mmedc crawl RECIPE` (pdf_paths = ["/books/"])."""
    from typer.testing import CliRunner

    from mmedc.cli import app

    tmp = tmp_path_factory.mktemp("crawl_pdfs")
    site = Site(tmp)
    server = serve(site)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        (tmp / "recipe.toml").write_text(RECIPE.format(base=base, pdf_max=PDF_MAX))
        r = CliRunner().invoke(app, ["crawl", str(tmp / "recipe.toml"), "--out", str(tmp / "crawl"), "-q"])
    finally:
        server.shutdown()
    assert r.exit_code == 0, r.output
    return site, base, tmp, r.output


def test_pdfs_in_scope_are_archived_whole(crawled):
    site, base, tmp, output = crawled
    got = responses(tmp / "crawl")
    assert set(got) == {f"{base}{p}" for p in ("/", "/chapter.html", "/books/guide.pdf", "/books/scan.pdf",
                                                "/books/old.pdf", "/books/moved.pdf")}
    assert got[f"{base}/books/guide.pdf"][1] == site.routes["/books/guide.pdf"][1]  # whole, byte for byte
    assert got[f"{base}/books/scan.pdf"][1] == site.routes["/books/scan.pdf"][1]
    assert "WARC-Truncated" not in got[f"{base}/books/scan.pdf"][0]
    # A PDF link is a leaf: the scan, linked from a page at max_depth, is fetched; a page there is not.
    assert "/deeper.html" not in site.log
    # Outside pdf_paths: a .pdf link is never requested; a PDF by type is declined after its headers.
    assert "/leaflets/flyer.pdf" not in site.log and "/download?id=7" in site.log
    assert "/books/private/secret.pdf" not in site.log  # robots.txt
    # Over pdf_max_bytes, with or without a Content-Length: requested, never archived cut.
    assert {"/books/huge.pdf", "/books/stream.pdf"} <= set(site.log)
    log = json.loads((tmp / "crawl" / "crawl-log.jsonl").read_text().splitlines()[-1])
    assert log["skipped"] == {"pdf_path": 2, "robots": 1, "pdf_too_large": 2}, log
    assert sum("PDF not archived: pdf_max_bytes (300000)" in e for e in log["errors"]) == 2


def test_licence_hints_are_archived(crawled):
    site, base, tmp, _ = crawled
    got = responses(tmp / "crawl")
    hints = {url.removeprefix(base): (h.get("MMedC-Licence"), h.get("MMedC-Licence-From")) for url, (h, _) in got.items()}
    assert hints == {
        "/": (BY, "page"),  # <link rel="license">
        "/chapter.html": (BY_SA, "page"),  # a link to a Creative Commons licence
        "/books/guide.pdf": ("CC BY-NC 4.0", "pdf metadata subject"),  # the PDF's own word wins
        "/books/scan.pdf": (BY_SA, f"linking page {base}/chapter.html"),
        "/books/old.pdf": (None, None),  # the redirect itself
        "/books/moved.pdf": (BY, f"linking page {base}/"),  # linked through the redirect
    }


def test_run_and_extract_read_the_crawled_pdfs(crawled):
    """`mmedc run` on the WARC: book documents (OCR for the scan) with their URL and licence;
    `mmedc extract` on the same WARC: the same text."""
    import polars as pl
    from typer.testing import CliRunner

    from mmedc.cli import app

    site, base, tmp, _ = crawled
    r = CliRunner().invoke(app, ["run", str(tmp / "recipe.toml"), "--out", str(tmp / "run"), "--local", "-q"])
    assert r.exit_code == 0, r.output
    filtered = pl.read_parquet(tmp / "run" / "work" / "filtered" / "*.parquet")
    docs = {row["url"]: (row["text"], json.loads(row["meta"])) for row in filtered.iter_rows(named=True)}
    guide, scan = docs[f"{base}/books/guide.pdf"], docs[f"{base}/books/scan.pdf"]
    assert " ".join(guide[0].split()) == GUIDE_TEXT
    assert (guide[1]["pages"], guide[1]["text_pages"], guide[1]["ocr_pages"]) == (1, 1, 0)
    assert (scan[1]["pages"], scan[1]["ocr_pages"]) == (1, 1)  # the scanned page went through OCR
    words = set(SCAN_TEXT.split())
    assert len(words & set(scan[0].split())) / len(words) > 0.9, scan[0]
    assert (guide[1]["licence"], scan[1]["licence"], scan[1]["licence_from"]) == (
        "CC BY-NC 4.0", BY_SA, f"linking page {base}/chapter.html")
    assert docs[f"{base}/"][1]["licence"] == BY
    # The released text dataset has the books, under their URLs.
    text = pl.read_parquet(tmp / "run" / "text" / "*.parquet")
    assert {f"{base}/books/{n}.pdf" for n in ("guide", "scan", "moved")} <= set(text["url"].to_list())

    x = CliRunner().invoke(app, ["extract", str(tmp / "crawl"), "-o", str(tmp / "x.jsonl"), "--source", "site",
                                 "--lang", "en"])
    assert x.exit_code == 0, x.output
    lines = {d["url"]: d for d in map(json.loads, (tmp / "x.jsonl").read_text().splitlines())}
    for url, (text_run, meta) in docs.items():
        assert lines[url]["text"] == text_run, url  # the same text, OCR included
        assert lines[url]["licence"] == meta["licence"]
    assert lines[f"{base}/books/scan.pdf"]["ocr_pages"] == 1


def test_no_pdfs_switch(tmp_path):
    """pdfs = false: .pdf links are never requested, a PDF by type is declined after its headers."""
    from mmedc.config import CrawlConfig
    from mmedc.crawl.crawler import Crawler

    site = Site(tmp_path)
    server = serve(site)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        cfg = CrawlConfig(allow_private=True, delay=0.0, max_depth=1, retries=0, pdfs=False)
        res = Crawler(cfg, tmp_path / "crawl", {"en": [f"{base}/"]}).run()
    finally:
        server.shutdown()
    assert not [p for p in site.log if p.endswith(".pdf")] and "/download?id=7" in site.log
    assert set(responses(tmp_path / "crawl")) == {f"{base}/", f"{base}/chapter.html"}
    assert res.skipped == {"pdf_off": 8} and not res.errors  # 7 .pdf links in scope + 1 PDF by type


def test_resumed_crawl_keeps_the_linking_pages_licence(tmp_path):
    """A PDF found in one run and fetched in the next (a leaf past max_depth) still gets the licence
    of the page that linked to it, and a PDF the first run's pdf_paths left out is fetched by a run
    with wider ones: the crawl's metadata records carry both over."""
    from mmedc.config import CrawlConfig
    from mmedc.crawl.crawler import Crawler

    site = Site(tmp_path)
    server = serve(site)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    cfg = dict(allow_private=True, delay=0.0, max_depth=1, retries=0, pdf_max_bytes=PDF_MAX)
    try:
        first = Crawler(CrawlConfig(max_pages=3, pdf_paths=["/books/"], **cfg), tmp_path / "crawl",
                        {"en": [f"{base}/"]}).run()
        assert "/books/scan.pdf" not in site.log and first.stopped == "max_pages (3) reached"
        Crawler(CrawlConfig(max_pages=20, pdf_paths=["/books/", "/leaflets/"], **cfg), tmp_path / "crawl",
                {"en": [f"{base}/"]}).run()
    finally:
        server.shutdown()
    assert site.log.count("/books/scan.pdf") == 1 and site.log.count("/") == 1
    got = responses(tmp_path / "crawl")
    headers, body = got[f"{base}/books/scan.pdf"]
    assert body == site.routes["/books/scan.pdf"][1]
    assert (headers["MMedC-Licence"], headers["MMedC-Licence-From"]) == (BY_SA, f"linking page {base}/chapter.html")
    assert got[f"{base}/leaflets/flyer.pdf"][0]["MMedC-Licence"] == "CC BY-NC 4.0"  # left out, then taken


def test_licence_hint_rules():
    """Which words and markup count as a licence hint, and how the value is written."""
    import lxml.html

    from mmedc.crawl.licence import licence_of_text, page_licence, pdf_licence
    from mmedc.extract.pymupdf_import import load_pymupdf

    assert licence_of_text("Licensed under cc-by-nc-sa 4.0") == "CC BY-NC-SA 4.0"
    assert licence_of_text("CC0 1.0 Universal, public domain") == "CC0 1.0"
    assert licence_of_text("see http://creativecommons.org/licenses/by-nd/3.0/.") == "http://creativecommons.org/licenses/by-nd/3.0/."
    assert licence_of_text("© 2021 Example Press. All rights reserved.") == "© 2021 Example Press. All rights reserved."
    assert licence_of_text("Copyright 2020 Elsevier") == "Copyright 2020 Elsevier"
    assert licence_of_text("Copyright Office Summary of the DMCA") is None  # a real PDF's subject: no statement
    assert licence_of_text("Cardiology for students") is None and licence_of_text("") is None

    def page(head: str) -> str | None:
        return page_licence(lxml.html.document_fromstring(f"<html><head>{head}</head><body><p>x</p></body></html>"),
                            "https://site.example/a/")

    assert page('<meta name="DCTERMS.license" content="CC BY 4.0">') == "CC BY 4.0"
    assert page('<a rel="nofollow license" href="/terms.html">terms</a>') == "https://site.example/terms.html"
    assert page('<meta name="description" content="licence-free words about licences? no: a description">') is None

    pymupdf = load_pymupdf()
    doc = pymupdf.open()
    doc.new_page()
    doc.set_xml_metadata('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description><dc:rights><rdf:Alt>'
                         '<rdf:li xml:lang="x-default">This work is licensed under CC BY-SA 4.0</rdf:li>'
                         '</rdf:Alt></dc:rights></rdf:Description></rdf:RDF></x:xmpmeta>')
    assert pdf_licence(doc.tobytes()) == ("CC BY-SA 4.0", "pdf xmp dc:rights")
    assert pdf_licence(b"%PDF-1.4 not a pdf") is None


def test_licence_hints_of_real_pdfs(dev_data):
    """Every PDF in ../shared/data (broken and encrypted ones included) gives a hint or None, never an
    error; the two whose XMP names a Creative Commons licence are found, nothing else is claimed."""
    from mmedc.crawl.licence import pdf_licence

    hints = {p.name: pdf_licence(p.read_bytes()) for p in sorted((dev_data / "pdf").rglob("*.pdf"))}
    assert len(hints) > 100
    found = {name: h for name, h in hints.items() if h}
    assert found.get("embedded-images-tables.pdf") == ("http://creativecommons.org/licenses/BY-NC-ND/4.0/", "pdf xmp")
    assert found.get("base.pdf", ("",))[0].startswith("http://creativecommons.org/publicdomain/zero/")
    assert len(found) == 2, found


def test_pdf_settings_are_checked(tmp_path):
    from typer.testing import CliRunner

    from mmedc.cli import app
    from mmedc.config import RecipeError, load_recipe

    (tmp_path / "r.toml").write_text(RECIPE.format(base="http://x.example", pdf_max=PDF_MAX)
                                     .replace('pdf_paths = ["/books/"]', 'pdf_paths = ["books/"]'))
    with pytest.raises(RecipeError, match="pdf_paths are URL path prefixes starting with '/'"):
        load_recipe(tmp_path / "r.toml")
    r = CliRunner().invoke(app, ["crawl", "https://x.example/", "--out", str(tmp_path / "c"), "--pdf-path", "books"])
    assert r.exit_code == 1 and "pdf_paths are URL path prefixes" in r.output and not (tmp_path / "c").exists()


def test_crawl_warns_when_the_run_could_not_read_its_pdfs(tmp_path):
    """[crawl] pdf_max_bytes above [limits] max_pdf_bytes: PDFs the run would fail are archived, so
    `mmedc crawl` says so first (the seed is a closed loopback port: nothing is fetched)."""
    from typer.testing import CliRunner

    from mmedc.cli import app

    recipe = RECIPE.format(base="http://127.0.0.1:9", pdf_max=2_000_000) + "\n[limits]\nmax_pdf_bytes = 1000000\n"
    (tmp_path / "r.toml").write_text(recipe)
    r = CliRunner().invoke(app, ["crawl", str(tmp_path / "r.toml"), "--out", str(tmp_path / "c"), "-q"])
    assert "warning: PDFs up to 2,000,000 bytes are archived" in " ".join(r.output.split()), r.output
    (tmp_path / "r.toml").write_text(RECIPE.format(base="http://127.0.0.1:9", pdf_max=1_000_000))
    r = CliRunner().invoke(app, ["crawl", str(tmp_path / "r.toml"), "--out", str(tmp_path / "c2"), "-q"])
    assert "warning" not in r.output
