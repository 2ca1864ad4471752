"""Readers on real inputs: JSONL (bad lines, truncated gzip), Parquet, HTML, WARC, PDF with OCR."""
import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq

from mmedc.config import OcrConfig, SourceConfig
from mmedc.sample.build import write_book, write_warc, html_page
from mmedc.sample.texts import MEDICAL
from mmedc.sources.books import read_pdf
from mmedc.sources.corpus import read_jsonl, read_parquet
from mmedc.sources.web import read_html, read_warc

SRC = SourceConfig("s", "jsonl", [])
TEXT = MEDICAL["en"][0][2]


def decisions(records):
    return [(r.id, r.decision) for r in records]


def test_jsonl_bad_lines_fail_alone(tmp_path):
    p = tmp_path / "a.jsonl"
    p.write_bytes(b'{"id": "1", "text": "ok"}\n{not json}\n\xff\xfe\n{"id": "2"}\n{"id": "3", "text": ""}\n[1]\n')
    recs = list(read_jsonl(SRC, p))
    assert decisions(recs) == [("s:1", "kept"), ("s:a.jsonl#2", "failed"), ("s:a.jsonl#3", "failed"),
                               ("s:2", "failed"), ("s:3", "dropped"), ("s:a.jsonl#6", "failed")]
    assert recs[1].reason.startswith("invalid_json: line 2")
    assert recs[2].reason.startswith("undecodable_line")
    assert "missing_field" in recs[3].reason


def test_truncated_gzip_keeps_what_was_read(tmp_path):
    lines = "".join(json.dumps({"id": str(i), "text": f"document {i} " * 50}) + "\n" for i in range(200))
    blob = gzip.compress(lines.encode())
    p = tmp_path / "t.jsonl.gz"
    p.write_bytes(blob[: len(blob) // 2])
    recs = list(read_jsonl(SRC, p))
    kept = [r for r in recs if r.decision == "kept"]
    assert 0 < len(kept) < 200
    assert recs[-1].decision == "failed" and "EOFError" in recs[-1].reason


def test_parquet_reader_and_corrupt_file(tmp_path):
    p = tmp_path / "c.parquet"
    pq.write_table(pa.table({"text": ["a b c", "d e f"], "url": ["u1", "u2"], "timestamp": ["t", "t"]}), p)
    recs = list(read_parquet(SourceConfig("cx", "parquet", []), p))
    assert [r.decision for r in recs] == ["kept", "kept"] and recs[0].url == "u1"
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1 not really parquet")
    recs = list(read_parquet(SourceConfig("cx", "parquet", []), bad))
    assert len(recs) == 1 and recs[0].decision == "failed"


def test_html_main_text_without_boilerplate(tmp_path):
    p = tmp_path / "p.html"
    p.write_text(html_page("Type 2 diabetes", TEXT, "en"))
    (rec,) = read_html(SourceConfig("h", "html", []), p)
    assert rec.decision == "kept" and "insulin" in rec.text
    assert "Privacy" not in rec.text and rec.meta["title"] == "Type 2 diabetes"


def test_warc_records(tmp_path):
    p = tmp_path / "w.warc.gz"
    write_warc(p, [("https://example.org/a", html_page("A", TEXT, "en"))])
    recs = list(read_warc(SourceConfig("w", "warc", []), p))
    assert decisions(recs) == [("w:https://example.org/a", "kept"), ("w:https://example.org/logo.png", "dropped")]
    # Cut the archive short: records before the cut survive, the rest is one recorded failure.
    data = p.read_bytes()
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(data[: len(data) - 40])
    recs = list(read_warc(SourceConfig("w", "warc", []), cut))
    assert recs and all(r.decision in ("kept", "dropped", "failed") for r in recs)


def test_pdf_text_page_and_scanned_page_ocr(tmp_path):
    p = tmp_path / "b.pdf"
    scanned = MEDICAL["en"][2][2]
    write_book(p, TEXT, scanned, "Notes")
    (rec,) = read_pdf(SourceConfig("b", "pdf", [], lang="en"), p, OcrConfig())
    assert rec.decision == "kept"
    assert rec.meta["page_methods"] == ["text", "ocr"] and rec.meta["ocr_pages"] == 1
    assert rec.meta["mean_ocr_confidence"] > 80
    # OCR text is close to what was rendered: most words come back exactly.
    words = set(scanned.lower().replace(".", "").replace(",", "").split())
    got = set(rec.text.lower().replace(".", "").replace(",", "").split())
    assert len(words & got) / len(words) > 0.9


def test_corrupt_and_encrypted_pdf(tmp_path):
    import pymupdf

    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"%PDF-1.7\n garbage")
    (rec,) = read_pdf(SourceConfig("b", "pdf", []), bad, OcrConfig())
    assert rec.decision == "failed"
    enc = tmp_path / "enc.pdf"
    d = pymupdf.open()
    d.new_page().insert_text((72, 72), "secret")
    d.save(enc, encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="u", owner_pw="o")
    (rec,) = read_pdf(SourceConfig("b", "pdf", []), enc, OcrConfig())
    assert rec.decision == "failed" and "encrypted" in rec.reason
