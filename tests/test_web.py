"""Web sources: WARC records (Common Crawl layout), charset detection, general-corpus Parquet field
names, `mmedc extract`, the MMedC web recipe, and the real WARC / HTML files in ../shared/data."""
from __future__ import annotations

import gzip
import io
import json
import zlib
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from mmedc.config import SourceConfig, load_recipe
from mmedc.extract.html import decode_html, extract_html
from mmedc.paths import ROOT
from mmedc.sample.build import html_page, write_book
from mmedc.sample.texts import MEDICAL
from mmedc.sources.corpus import read_jsonl, read_parquet
from mmedc.sources.web import read_warc

WARC = SourceConfig("cc", "warc", [])


def cc_warc(path: Path):
    """A Common Crawl-like WARC written here: warcinfo, then request / response / metadata triples,
    plus a resource record, a revisit, a redirect, a 404, a PDF and a page declared in windows-1251."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    ru = html_page("Пневмония", MEDICAL["ru"][2][2], "ru").replace('<meta charset="utf-8">', "")
    en = html_page("Diabetes", MEDICAL["en"][0][2], "en")
    with open(path, "wb") as f:
        w = WARCWriter(f, gzip=True)
        w.write_record(w.create_warcinfo_record(path.name, {"software": "test"}))

        def response(url, status, headers, body, **warc):
            http = StatusAndHeaders(status, headers, protocol="HTTP/1.1")
            req = w.create_warc_record(url, "request", payload=io.BytesIO(b""),
                                       http_headers=StatusAndHeaders("GET / HTTP/1.1", [], is_http_request=True))
            w.write_record(req)
            w.write_record(w.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http,
                                                warc_headers_dict=warc))
            w.write_record(w.create_warc_record(url, "metadata", payload=io.BytesIO(b"languages-cld2: {}"),
                                                warc_content_type="application/warc-fields"))

        response("https://ru.example/pneumonia", "200 OK", [("Content-Type", "text/html; charset=windows-1251")],
                 ru.encode("cp1251", errors="xmlcharrefreplace"))
        response("https://en.example/diabetes", "200 OK", [("Content-Type", "text/html"), ("Content-Encoding", "gzip")],
                 gzip.compress(en.encode()), **{"WARC-Identified-Payload-Type": "text/html"})
        response("https://en.example/none", "200 OK", [], en.encode(), **{"WARC-Identified-Payload-Type": "text/html"})
        response("https://en.example/gone", "404 Not Found", [("Content-Type", "text/html")], b"<html>gone</html>")
        response("https://en.example/old", "301 Moved", [("Location", "/new")], b"")
        response("https://en.example/a.pdf", "200 OK", [("Content-Type", "application/pdf")], b"%PDF-1.4")
        response("https://en.example/empty", "200 OK", [("Content-Type", "text/html")], b"<html><body></body></html>")
        w.write_record(w.create_warc_record("file:///page.html", "resource", payload=io.BytesIO(en.encode()),
                                            warc_content_type="text/html; charset=utf-8"))
        w.write_record(w.create_revisit_record("https://en.example/diabetes", "sha1:AAAA", "https://en.example/diabetes",
                                               "2026-01-01T00:00:00Z"))


def test_common_crawl_layout(tmp_path):
    p = tmp_path / "cc.warc.gz"
    cc_warc(p)
    recs = {r.id: r for r in read_warc(WARC, p)}
    got = {k: (r.decision, r.reason) for k, r in recs.items()}
    # A PDF payload goes to the PDF reader (issue 16); this one is only a header, so it fails, named.
    pdf = got.pop("cc:https://en.example/a.pdf")
    assert pdf[0] == "failed" and pdf[1].startswith("corrupt_pdf:"), pdf
    assert got == {
        "cc:https://ru.example/pneumonia": ("kept", None),
        "cc:https://en.example/diabetes": ("kept", None),  # gzip Content-Encoding undone
        "cc:https://en.example/none": ("kept", None),  # no Content-Type: Common Crawl's identified type
        "cc:https://en.example/gone": ("dropped", "http_status: 404"),
        "cc:https://en.example/old": ("dropped", "http_status: 301"),
        "cc:https://en.example/empty": ("dropped", "no_text: no main text; tried: trafilatura, trafilatura on a recovered "
                                                   "parse (nothing to repair), trafilatura baseline"),
        "cc:file:///page.html": ("kept", None),  # a resource record (wget, local captures)
        "cc:https://en.example/diabetes#24": ("dropped", "revisit: payload stored in an earlier record"),
    }
    ru = recs["cc:https://ru.example/pneumonia"]
    assert "Пневмония — острое" in ru.text and ru.meta["encoding"] == "header:cp1251"
    assert ru.url == "https://ru.example/pneumonia" and ru.meta["title"] == "Пневмония"
    assert recs["cc:https://en.example/gone"].url == "https://en.example/gone"  # dropped rows keep the URL


def test_cut_archive_is_never_a_silent_loss(tmp_path):
    """warcio ends quietly where a .warc.gz is cut; every cut here must leave a failed record."""
    p = tmp_path / "cc.warc.gz"
    cc_warc(p)
    data = p.read_bytes()
    whole = [r.id for r in read_warc(WARC, p) if r.decision != "failed"]  # the header-only PDF fails
    ends, d, at = set(), zlib.decompressobj(wbits=31), 0  # where each gzip member (one record) ends
    while at < len(data):
        d.decompress(data[at:])
        at = len(data) - len(d.unused_data)
        ends.add(at)
        d = zlib.decompressobj(wbits=31)
    # A cut exactly between two members is a whole, shorter archive: nothing in a WARC says more was
    # meant to follow. The record sizes vary with the fixture's timestamps, so test those cuts too.
    cuts = sorted(set(range(100, len(data), 700)) | {e for e in ends if e < len(data)})
    for cut in cuts:
        q = tmp_path / "cut.warc.gz"
        q.write_bytes(data[:cut])
        recs = list(read_warc(WARC, q))
        failed = [r for r in recs if r.decision == "failed"]
        if cut in ends:
            assert not any(r.reason.startswith("truncated_") for r in failed), cut
        else:
            assert failed and failed[-1].reason.startswith("truncated_"), cut
        kept_ids = [r.id for r in recs if r.decision != "failed"]
        assert kept_ids == whole[: len(kept_ids)]


def test_charset_rules():
    text = MEDICAL["zh"][0][2] * 3
    page = f"<html><head><title>高血压</title></head><body><article><p>{text}</p></article></body></html>"
    # No declaration at all: detected (GB18030 bytes are not UTF-8).
    s, how = decode_html(page.encode("gb18030"))
    assert s == page and how.startswith("detected:")
    # A meta declaration with a legacy label is read as the browser superset (Shift_JIS → cp932).
    ja = '<html><head><meta charset="Shift_JIS"></head><body>①気管支喘息</body></html>'
    s, how = decode_html(ja.encode("cp932"))
    assert "①気管支喘息" in s and how == "meta:cp932"
    # The HTTP header wins over the page; a wrong declaration falls through to the next rule.
    ru = "<html><body>Артериальная гипертензия</body></html>".encode("cp1251")
    assert decode_html(ru, "text/html; charset=windows-1251") == ("<html><body>Артериальная гипертензия</body></html>", "header:cp1251")
    assert decode_html(ru, "text/html; charset=utf-8")[1].startswith("detected:")
    assert decode_html(b"\xef\xbb\xbf<p>caf\xc3\xa9</p>")[0] == "<p>café</p>"
    rec = extract_html("x", page.encode("gb18030"))
    assert rec.decision == "kept" and MEDICAL["zh"][0][2][:20] in rec.text


def test_general_corpus_field_names(tmp_path):
    # CulturaX: text / url / timestamp / source, no id: ids come from the file and row number.
    p = tmp_path / "en_part_00000.parquet"
    pq.write_table(pa.table({"text": ["a medical text", ""], "timestamp": ["2021-01-01", "2021-01-02"],
                             "url": ["https://a", "https://b"], "source": ["mC4", "OSCAR-2301"]}), p)
    recs = list(read_parquet(SourceConfig("culturax", "parquet", []), p))
    assert [(r.id, r.decision) for r in recs] == [("culturax:en_part_00000.parquet#1", "kept"),
                                                  ("culturax:en_part_00000.parquet#2", "dropped")]
    assert recs[0].url == "https://a" and recs[0].meta == {"timestamp": "2021-01-01", "source": "mC4"}
    # Other layouts through the configurable field names (JSONL here).
    j = tmp_path / "c.jsonl"
    j.write_text(json.dumps({"doc_id": "d1", "content": "texte médical", "link": "https://c"}) + "\n")
    src = SourceConfig("other", "jsonl", [], text_field="content", id_field="doc_id", url_field="link")
    (r,) = read_jsonl(src, j)
    assert (r.id, r.text, r.url, r.meta) == ("other:d1", "texte médical", "https://c", {})


def test_extract_cli_html_warc_pdf_and_errors(tmp_path):
    from typer.testing import CliRunner

    from mmedc.cli import app

    html = tmp_path / "page.html"
    html.write_text(html_page("Migraine", MEDICAL["en"][2][2], "en"))
    warc = tmp_path / "cc.warc.gz"
    cc_warc(warc)
    pdf = tmp_path / "book.pdf"
    write_book(pdf, MEDICAL["en"][1][2], MEDICAL["en"][0][2], "Notes")
    bad_pdf = tmp_path / "bad.pdf"
    bad_pdf.write_bytes(b"%PDF-1.7 garbage")
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(warc.read_bytes()[:2500])
    out = tmp_path / "out.jsonl"
    files = [html, warc, pdf, bad_pdf, cut, tmp_path / "notes.txt", tmp_path / "missing.html"]
    r = CliRunner().invoke(app, ["extract", *map(str, files), "-o", str(out), "--lang", "en"])
    assert r.exit_code == 0, r.output
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    by_file = Counter(Path(x["file"]).name for x in lines)
    assert by_file["page.html"] == 1 and by_file["cc.warc.gz"] == 9 and by_file["book.pdf"] == 1
    (page,) = [x for x in lines if x["file"] == str(html)]
    assert "Migraine" in page["text"] and page["title"] == "Migraine" and page["source"] == "extract"
    (book,) = [x for x in lines if x["file"] == str(pdf)]
    assert book["pages"] == 2 and book["ocr_pages"] == 1 and book["mean_ocr_confidence"] > 50
    assert "diabetes" in book["text"].lower()  # the scanned page came back through OCR
    errors = {Path(x["file"]).name: x["error"] for x in lines if "error" in x}
    assert errors["bad.pdf"].startswith("corrupt_pdf") and errors["notes.txt"] == "not_found"
    assert errors["missing.html"] == "not_found" and errors["cut.warc.gz"].startswith("truncated_")
    assert all(("text" in x) + ("error" in x) + ("dropped" in x) == 1 for x in lines)
    assert "failed" in r.output


def test_mmedc_web_recipe():
    recipe = load_recipe(ROOT / "pipelines" / "mmedc_web.toml")
    assert {s.kind for s in recipe.sources} == {"parquet", "warc"}
    seeds = recipe.crawl.seeds
    assert {"en", "es", "fr", "ja"} <= set(seeds)
    hosts = {u.split("/")[2] for urls in seeds.values() for u in urls}
    assert hosts == {"medlineplus.gov", "www.pasteur.fr", "medical.jiji.com"}
    assert not recipe.crawl.allow_private and recipe.crawl.delay >= 1.0
    culturax = [s for s in recipe.sources if s.kind == "parquet"]
    assert culturax and all(s.text_field == "text" and s.url_field == "url" for s in culturax)


def test_every_shared_warc_gives_records_or_errors(dev_data):
    files = sorted(p for p in (dev_data / "warc").rglob("*") if p.is_file() and (".warc" in p.name or ".arc" in p.name))
    assert len(files) >= 15
    seen = {}
    for p in files:
        recs = list(read_warc(WARC, p))  # must not raise
        for r in recs:
            assert r.decision in ("kept", "dropped", "failed") and (r.decision == "kept") == (r.reason is None)
            assert r.decision != "kept" or r.text.strip()
        seen[p.name] = Counter(r.decision for r in recs)
    assert seen["cc.warc.gz"]["kept"] == 1  # a real Common Crawl response record
    assert seen["example-bad-non-chunked.warc.gz"]["kept"] == 1  # one gzip stream around all records: read
    assert seen["example-wrong-chunks.warc.gz"]["failed"] >= 1  # damage: recorded, the file stops there
    assert seen["example.arc.gz"]["kept"] == 1 and seen["example-resource.warc.gz"]["kept"] == 1


def test_real_pages_keep_their_main_text(dev_data):
    """On real pages (trafilatura's evaluation set) the must-include snippets come out."""
    root = dev_data / "html" / "trafilatura_eval"
    ev = json.loads((root / "evaldata_subset.json").read_text())
    items = [v for v in ev.values() if v.get("with")][:25]
    found = total = 0
    for v in items:
        rec = extract_html("x", gzip.decompress((root / v["path"]).read_bytes()))
        text = " ".join((rec.text or "").split())
        found += sum(" ".join(s.split()) in text for s in v["with"])
        total += len(v["with"])
    assert found / total > 0.75
