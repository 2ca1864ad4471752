"""PDFs in WARCs as Common Crawl has them: read up to `[limits] max_pdf_bytes` (not the 8 MiB page
cap), a licence hint from the PDF's own metadata when the WARC has no `MMedC-Licence` header, and that
hint in the released text dataset's `licence` column.

The PDFs are made here with PyMuPDF: a one-page text layer, padded to 10 MiB with an embedded file of
random bytes (incompressible, nothing for the reader to render).
"""
from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from mmedc.sample.texts import MEDICAL

MiB = 1 << 20
BIG_TEXT, SMALL_TEXT, OPEN_TEXT = (MEDICAL["en"][i][2] for i in range(3))
BY = "https://creativecommons.org/licenses/by/4.0/"
XMP = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       '<rdf:Description xmlns:xmpRights="http://ns.adobe.com/xap/1.0/rights/" '
       f'xmpRights:WebStatement="{BY}"/></rdf:RDF></x:xmpmeta>')


def make_pdf(text: str, pad: int = 0, xmp: str | None = None, subject: str = "") -> bytes:
    from mmedc.extract.pymupdf_import import load_pymupdf

    pymupdf = load_pymupdf()
    doc = pymupdf.open()
    page = doc.new_page(width=420, height=595)
    page.insert_textbox(pymupdf.Rect(36, 36, 384, 559), text, fontsize=11, fontname="helv")
    if pad:
        doc.embfile_add("padding.bin", os.urandom(pad))
    doc.set_metadata({"title": "Test", "subject": subject})
    if xmp:
        doc.set_xml_metadata(xmp)
    return doc.tobytes()


def write_warc(path: Path, records: list[tuple[str, str, bytes]]) -> Path:
    """response records (url, Content-Type, payload), as Common Crawl writes them: no licence headers."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as f:
        w = WARCWriter(f, gzip=path.name.endswith(".gz"))
        for url, ctype, body in records:
            http = StatusAndHeaders("200 OK", [("Content-Type", ctype), ("Content-Length", str(len(body)))],
                                    protocol="HTTP/1.1")
            w.write_record(w.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http))
    return path


BIG_SIZE: dict = {}


@pytest.fixture(scope="module")
def big_warc(tmp_path_factory) -> Path:
    """A 10 MiB PDF (CC BY in its XMP) typed application/pdf, and the same bytes untyped (sniffed)."""
    big = make_pdf(BIG_TEXT, pad=10 * MiB, xmp=XMP)
    assert len(big) > 10 * MiB
    BIG_SIZE["bytes"] = len(big)
    return write_warc(tmp_path_factory.mktemp("pdf_limits") / "cc.warc", [
        ("https://example.org/big.pdf", "application/pdf", big),
        ("https://example.org/download?id=1", "application/octet-stream", big)])


def read(path: Path, limits=None) -> dict:
    from mmedc.config import SourceConfig
    from mmedc.sources.registry import read_file

    return {r.url: r for r in read_file(SourceConfig("cc", "warc", [str(path)], lang="en"), path, limits=limits)}


def test_big_pdf_read_under_the_default_cap(big_warc):
    """10 MiB is over the page cap (MAX_PAYLOAD, 8 MiB) but under max_pdf_bytes (64 MiB by default)."""
    from mmedc.config import LimitsConfig
    from mmedc.sources.web import MAX_PAYLOAD

    assert big_warc.stat().st_size > MAX_PAYLOAD and LimitsConfig().max_pdf_bytes == 64 * MiB
    for rec in read(big_warc).values():
        assert rec.decision == "kept", rec.reason
        assert " ".join(rec.text.split()) == BIG_TEXT
        # No MMedC-Licence header (a Common Crawl record): the hint comes from the PDF's own XMP.
        assert (rec.meta["licence"], rec.meta["licence_from"]) == (BY, "pdf xmp")


def test_big_pdf_fails_over_a_small_cap(big_warc):
    from mmedc.config import LimitsConfig

    got = read(big_warc, LimitsConfig(max_pdf_bytes=MiB))
    assert [r.decision for r in got.values()] == ["failed", "failed"]  # typed or sniffed alike
    for r in got.values():
        assert r.reason == "limit: max_pdf_bytes: PDF payload over 1,048,576 bytes ([limits] max_pdf_bytes)"
    # The cap counts the payload exactly: one byte more than the PDF is enough.
    size = BIG_SIZE["bytes"]
    assert all(r.decision == "kept" for r in read(big_warc, LimitsConfig(max_pdf_bytes=size)).values())
    assert all(r.decision == "failed" for r in read(big_warc, LimitsConfig(max_pdf_bytes=size - 1)).values())


def test_extract_takes_the_cap(big_warc, tmp_path):
    """`mmedc extract` on the WARC: read under the default, an error line under --max-pdf-bytes."""
    from typer.testing import CliRunner

    from mmedc.cli import app

    def extract(*opts) -> list[dict]:
        r = CliRunner().invoke(app, ["extract", str(big_warc), "-o", str(tmp_path / "x.jsonl"), "--no-ocr", *opts])
        assert r.exit_code == 0, r.output
        return [json.loads(ln) for ln in (tmp_path / "x.jsonl").read_text().splitlines()]

    lines = extract()
    assert [(" ".join(d["text"].split()), d["licence"]) for d in lines] == [(BIG_TEXT, BY)] * 2
    lines = extract("--max-pdf-bytes", str(MiB))
    assert [d["error"].split(":")[:2] for d in lines] == [["limit", " max_pdf_bytes"]] * 2


def test_run_limit_and_licence_column(tmp_path):
    """`mmedc run` with `[limits] max_pdf_bytes`: the big PDF is one failed audit row naming the setting;
    the others reach the text dataset with their licence (XMP, info field) or null."""
    import polars as pl
    from typer.testing import CliRunner

    from mmedc.audit.check import check
    from mmedc.cli import app

    (tmp_path / "cc").mkdir()
    write_warc(tmp_path / "cc" / "cc.warc.gz", [  # the page has the big PDF's text, which fails
        ("https://example.org/big.pdf", "application/pdf", make_pdf(BIG_TEXT, pad=5 * MiB)),
        ("https://example.org/open.pdf", "application/pdf", make_pdf(OPEN_TEXT, xmp=XMP)),
        ("https://example.org/nc.pdf", "application/pdf", make_pdf(SMALL_TEXT, subject="Licensed CC BY-NC-SA 4.0")),
        ("https://example.org/page.html", "text/html", f"<html><body><p>{BIG_TEXT}</p></body></html>".encode()),
    ])
    (tmp_path / "recipe.toml").write_text('[pipeline]\nname = "pdf-limits"\nlanguages = ["en"]\n\n'
                                          '[limits]\nmax_pdf_bytes = 4194304\n\n'
                                          '[[sources]]\nname = "cc"\nkind = "warc"\npaths = ["cc"]\nlang = "en"\n')
    out = tmp_path / "run"
    r = CliRunner().invoke(app, ["run", str(tmp_path / "recipe.toml"), "--out", str(out), "--local", "-q"])
    assert r.exit_code == 0, r.output
    audit = pl.read_parquet(str(out / "audit" / "*" / "*.parquet"))
    failed = audit.filter(pl.col("decision") == "failed")
    assert failed["reason"].to_list() == ["limit: max_pdf_bytes: PDF payload over 4,194,304 bytes ([limits] max_pdf_bytes)"]
    text = pl.read_parquet(str(out / "text" / "*.parquet"))
    assert text.columns[:6] == ["id", "lang", "source", "url", "licence", "text"]
    assert dict(zip(text["url"], text["licence"])) == {
        "https://example.org/open.pdf": BY, "https://example.org/nc.pdf": "CC BY-NC-SA 4.0",
        "https://example.org/page.html": None}
    assert text.schema["licence"] == pl.String
    assert check(out).ok


def test_pdf_cut_by_the_crawler_fails_as_truncated(tmp_path):
    """A PDF record the crawler cut (`WARC-Truncated: length`, Common Crawl's 1 MiB cap) fails as a
    truncation naming the header, typed or sniffed; PyMuPDF would open this half PDF and keep its
    start as if it were the whole document. The same PDF whole, without the header, is read."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    pdf = make_pdf(SMALL_TEXT)
    half = pdf[:len(pdf) // 2]
    path = tmp_path / "cut.warc.gz"
    with open(path, "wb") as f:
        w = WARCWriter(f, gzip=True)
        for url, ctype, body, cut in (("https://example.org/cut.pdf", "application/pdf", half, "length"),
                                      ("https://example.org/get?id=2", "application/octet-stream", half, "time"),
                                      ("https://example.org/whole.pdf", "application/pdf", pdf, None)):
            http = StatusAndHeaders("200 OK", [("Content-Type", ctype), ("Content-Length", str(len(body)))],
                                    protocol="HTTP/1.1")
            w.write_record(w.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http,
                                                warc_headers_dict={"WARC-Truncated": cut} if cut else None))
    got = read(path)
    assert {u: (r.decision, r.reason) for u, r in got.items() if u != "https://example.org/whole.pdf"} == {
        "https://example.org/cut.pdf": ("failed", "truncated_record: PDF payload cut by the crawler "
                                                  "(WARC-Truncated: length); a cut PDF is not read"),
        "https://example.org/get?id=2": ("failed", "truncated_record: PDF payload cut by the crawler "
                                                   "(WARC-Truncated: time); a cut PDF is not read")}
    assert got["https://example.org/whole.pdf"].decision == "kept"
    assert " ".join(got["https://example.org/whole.pdf"].text.split()) == SMALL_TEXT
