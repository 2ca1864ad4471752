"""The `text` source kind (mmedc.sources.text) and PDF payloads in WARCs (mmedc.sources.web)."""
from __future__ import annotations

import gzip
import io
import json

import pytest

from mmedc.config import LimitsConfig, OcrConfig, RecipeError, SourceConfig
from mmedc.sources.registry import read_file

DOCS = ["Insulin lowers blood glucose.\nIt is made in the pancreas.", "Aspirin inhibits platelets.",
        "Hypertension raises stroke risk;\tit is \"silent\"."]


def _src(**kw):
    return SourceConfig(name=kw.pop("name", "t"), kind=kw.pop("kind", "text"), paths=[], **kw)


def _read(src, path, **kw):
    return list(read_file(src, path, **kw))


def _kept(recs):
    return [(r.id, r.text) for r in recs if r.decision == "kept"]


def _jsonl(tmp_path, docs):
    p = tmp_path / "same.jsonl"
    p.write_text("".join(json.dumps({"text": d}) + "\n" for d in docs))
    return [r.text for r in _read(_src(kind="jsonl"), p) if r.decision == "kept"]


def test_one_document_per_file_same_text_as_jsonl(tmp_path):
    texts = []
    for i, d in enumerate(DOCS):
        p = tmp_path / f"doc{i}.txt"
        p.write_text(d + "\n")
        recs = _read(_src(), p)
        assert [(r.id, r.decision) for r in recs] == [(f"t:doc{i}.txt#1", "kept")]
        texts.append(recs[0].text)
    assert texts == _jsonl(tmp_path, DOCS)


@pytest.mark.parametrize("gz", [False, True])
def test_blank_lines_and_separator_layouts(tmp_path, gz):
    body = "\n\n\n".join(DOCS) + "\n"
    p = tmp_path / ("a.txt.gz" if gz else "a.txt")
    p.write_bytes(gzip.compress(body.encode()) if gz else body.encode())
    recs = _read(_src(split="blank_lines"), p)
    assert _kept(recs) == [(f"t:{p.name}#{i}", d) for i, d in enumerate(DOCS, 1)]
    assert [t for _, t in _kept(recs)] == _jsonl(tmp_path, DOCS)
    # a separator keeps blank lines inside a document
    docs = ["First para.\n\nSecond para of the same note.", "Another note."]
    q = tmp_path / "b.txt"
    q.write_text("\n".join(d + "\n<doc>" for d in docs) + "\n")
    recs = _read(_src(split="separator", separator="<doc>"), q)
    assert [t for _, t in _kept(recs)] == docs == _jsonl(tmp_path, docs)


def test_split_settings_are_checked():
    with pytest.raises(RecipeError):
        _src(split="paragraphs")
    with pytest.raises(RecipeError):
        _src(split="separator")


@pytest.mark.parametrize("suffix,delim", [(".tsv", "\t"), (".csv", ",")])
def test_table_with_text_and_id_columns(tmp_path, suffix, delim):
    import csv

    rows = [{"doc_id": f"n{i}", "body": d.replace("\t", " ") if delim == "\t" else d, "year": "2020"}
            for i, d in enumerate(DOCS)]
    if delim == "\t":  # TSV cannot hold a newline in a cell
        rows[0]["body"] = rows[0]["body"].replace("\n", " ")
    p = tmp_path / f"tab{suffix}"
    if delim == "\t":  # bare quotes stay as they are in TSV
        p.write_text("doc_id\tbody\tyear\n" + "".join("\t".join(r.values()) + "\n" for r in rows))
    else:
        with p.open("w", newline="") as f:
            w = csv.DictWriter(f, ["doc_id", "body", "year"])
            w.writeheader()
            w.writerows(rows)
    src = _src(text_field="body", id_field="doc_id")
    recs = _read(src, p)
    q = tmp_path / "same.jsonl"
    q.write_text("".join(json.dumps(r) + "\n" for r in rows))
    want = [(r.id, r.text, r.meta) for r in _read(_src(kind="jsonl", text_field="body", id_field="doc_id"), q)]
    assert [(r.id, r.text, r.meta) for r in recs] == want
    assert [r.id for r in recs] == ["t:n0", "t:n1", "t:n2"] and recs[1].meta == {"year": "2020"}
    # without an id column: file#row; a missing text column: one failed row naming it
    assert [r.id for r in _read(_src(text_field="body", id_field="none"), p)] == [f"t:tab{suffix}#{i}" for i in (1, 2, 3)]
    bad = _read(_src(text_field="text"), p)
    assert [(r.decision, r.reason.split(":")[0]) for r in bad] == [("failed", "missing_field")]


def test_bad_bytes_fail_their_document_only(tmp_path):
    p = tmp_path / "bad.txt"
    p.write_bytes(b"Good first document.\n\nBad \xff\xfe bytes here.\n\nGood third document.\n")
    recs = _read(_src(split="blank_lines"), p)
    assert [(r.id, r.decision) for r in recs] == [("t:bad.txt#1", "kept"), ("t:bad.txt#2", "failed"),
                                                  ("t:bad.txt#3", "kept")]
    assert recs[1].reason.startswith("undecodable_text")
    q = tmp_path / "bad.tsv"
    q.write_bytes(b"text\nfine row\nbroken \xff row\nanother fine row\n")
    recs = _read(_src(), q)
    assert [r.decision for r in recs] == ["kept", "failed", "kept"] and recs[1].reason.startswith("undecodable_text")


@pytest.mark.parametrize("name,split", [("empty.txt", "file"), ("blank.txt", "blank_lines"), ("empty.csv", "file")])
def test_empty_file_says_so(tmp_path, name, split):
    p = tmp_path / name
    p.write_bytes(b"" if name != "blank.txt" else b"\n \n\n")
    recs = _read(_src(split=split), p)
    assert [(r.decision, r.reason) for r in recs] == [("dropped", "empty_file: no text in the file")]


def _zst(data: bytes) -> bytes:
    import zstandard

    return zstandard.ZstdCompressor().compress(data)


def test_zst_reads_like_plain_text(tmp_path):
    body = "\n\n\n".join(DOCS) + "\n"
    p = tmp_path / "a.txt.zst"
    p.write_bytes(_zst(body.encode()))
    recs = _read(_src(split="blank_lines"), p)
    assert _kept(recs) == [(f"t:a.txt.zst#{i}", d) for i, d in enumerate(DOCS, 1)]
    q = tmp_path / "two-frames.tsv.zst"  # concatenated frames (zstd -c a b > c) are read on
    q.write_bytes(_zst(b"text\nfirst row\n") + _zst(b"second row\n"))
    assert [r.text for r in _read(_src(), q)] == ["first row", "second row"]


@pytest.mark.parametrize("name", ["cut.txt.gz", "cut.tsv.gz", "cut.txt.zst", "cut.tsv.zst"])
def test_truncated_compressed_file_keeps_what_came_before(tmp_path, name):
    zst = name.endswith(".zst")
    # zstd blocks are large: enough documents that half the file ends inside the frame
    docs = [f"Document number {i} about clinical pharmacology and dosing, edition {i * 7919 % 1000}."
            for i in range(20000 if zst else 2000)]
    body = ("text\n" + "\n".join(docs) + "\n") if ".tsv." in name else "\n\n".join(docs) + "\n"
    blob = (_zst if zst else gzip.compress)(body.encode())
    p = tmp_path / name
    p.write_bytes(blob[: len(blob) // 2])
    recs = _read(_src(split="blank_lines"), p)
    kept, failed = [r for r in recs if r.decision == "kept"], [r for r in recs if r.decision == "failed"]
    assert 0 < len(kept) < len(docs)
    assert [r.text for r in kept] == docs[:len(kept)]  # the cut document is not kept half
    assert len(failed) == 1 and failed[0].reason.startswith("corrupt_file: after document")
    assert not zst or "zstd frame" in failed[0].reason


def test_not_zstd_is_one_failed_row(tmp_path):
    q = tmp_path / "junk.txt.zst"
    q.write_bytes(b"this is not zstd data\n" * 10)
    recs = _read(_src(), q)
    assert [(r.decision, r.reason.split(":")[0]) for r in recs] == [("failed", "corrupt_file")]


def test_zst_bomb_stops_at_max_file_bytes(tmp_path):
    import zstandard

    p = tmp_path / "bomb.txt.zst"
    p.write_bytes(zstandard.ZstdCompressor(level=19).compress(b"a" * (64 << 20)))  # ~2 KB on disk
    recs = _read(_src(split="blank_lines"), p, limits=LimitsConfig(max_file_bytes=1 << 20, max_line_bytes=4 << 20))
    assert [(r.decision, r.reason.split(":")[:2]) for r in recs] == [("failed", ["limit", " max_file_bytes"])]


def test_plan_counts_text_sources(tmp_path):
    from mmedc.plan.count import count_source

    for i in range(3):
        (tmp_path / "one" / f"d{i}.txt").parent.mkdir(exist_ok=True)
        (tmp_path / "one" / f"d{i}.txt").write_text(DOCS[i])
    sc = count_source({"name": "t", "kind": "text", "paths": ["one"]}, tmp_path)
    assert (sc.docs, sc.how) == (3, "exact")
    (tmp_path / "many").mkdir()
    (tmp_path / "many" / "a.txt.zst").write_bytes(_zst(("\n\n".join(DOCS * 100) + "\n").encode()))
    sc = count_source({"name": "t", "kind": "text", "paths": ["many"], "split": "blank_lines"}, tmp_path)
    assert sc.docs == pytest.approx(300, rel=0.02) and sc.text_bytes_per_doc > 20


def test_document_over_max_line_bytes_fails_alone(tmp_path):
    p = tmp_path / "big.txt"
    p.write_text("short one\n\n" + ("word " * 100 + "\n") * 5 + "\nshort two\n")
    recs = _read(_src(split="blank_lines"), p, limits=LimitsConfig(max_line_bytes=1000))
    assert [r.decision for r in recs] == ["kept", "failed", "kept"]
    assert recs[1].reason.startswith("limit: max_line_bytes")


def _pdf_bytes(text: str) -> bytes:
    import pymupdf

    doc = pymupdf.open()
    rect = pymupdf.paper_rect("a4")
    doc.new_page(width=rect.width, height=rect.height).insert_textbox(rect + (60, 60, -60, -60), text, fontsize=12)
    return doc.tobytes()


@pytest.mark.parametrize("ctype", ["application/pdf", "application/octet-stream"])  # typed, or sniffed
def test_pdf_in_warc_becomes_a_document(tmp_path, ctype):
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    text = "Guideline for the treatment of community acquired pneumonia in adults with amoxicillin."
    pdf = _pdf_bytes(text)
    p = tmp_path / "crawl.warc.gz"
    with p.open("wb") as f:
        w = WARCWriter(f, gzip=True)
        http = StatusAndHeaders("200 OK", [("Content-Type", ctype)], protocol="HTTP/1.1")
        w.write_record(w.create_warc_record("https://med.example/guide.pdf", "response",
                                            payload=io.BytesIO(pdf), http_headers=http))
        http = StatusAndHeaders("200 OK", [("Content-Type", "image/png")], protocol="HTTP/1.1")
        w.write_record(w.create_warc_record("https://med.example/x.png", "response",
                                            payload=io.BytesIO(b"\x89PNG...."), http_headers=http))
    recs = _read(_src(kind="warc", name="w"), p, ocr=OcrConfig(enabled=False))
    doc, png = recs
    assert doc.decision == "kept", doc.reason
    assert doc.id == "w:https://med.example/guide.pdf" and doc.url == "https://med.example/guide.pdf"
    assert " ".join(doc.text.split()) == text and doc.meta.get("fetched")
    assert (png.decision, png.reason) == ("dropped", "not_html: image/png")
