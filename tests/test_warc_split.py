"""A WARC as several work units ("WARC by record offsets", docs/engine.md): a part [a, b) reads the
records that start at or after the first record start at or after a, up to where the next part
starts, so each record is read by exactly one part, however the file is cut (inside records, on gzip
member boundaries, a byte either side), and the parts together give what one unit gives.

The WARCs are written here with warcio: a few hundred small records of every kind the reader meets
(pages, requests, 404s, images, a resource without URL, revisits), plus payloads that look like record
starts: raw gzip members (an incompressible payload is stored as is inside the compressed data) and a
page quoting a `WARC/1.0` record.
"""
from __future__ import annotations

import gzip
import io
import random
import re
from collections import Counter
from pathlib import Path

import pytest

from mmedc.sample.texts import MEDICAL

N_PAGES = 80  # HTML pages (the costly records to read); a few hundred records in all


def make_warc(path: Path) -> Path:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    rnd = random.Random(7)
    texts = [[t for (_, _, t) in MEDICAL[lang]] for lang in ("en", "fr", "es")]
    quoted = (b"<html><body><p>A WARC record looks like this:</p><pre>\nWARC/1.0\r\nWARC-Type: response\r\n"
              b"Content-Length: 5\r\n\r\nhello\r\n\r\nand then the next one.</pre></body></html>")

    def http(ctype, body, status="200 OK"):
        return StatusAndHeaders(status, [("Content-Type", ctype), ("Content-Length", str(len(body)))],
                                protocol="HTTP/1.1")

    with open(path, "wb") as f:
        w = WARCWriter(f, gzip=path.name.endswith(".gz"))
        w.write_record(w.create_warcinfo_record(path.name, {"software": "test"}))
        for i in range(N_PAGES):
            url = f"https://example.org/page/{i}"
            w.write_record(w.create_warc_record(url, "request", payload=io.BytesIO(b"GET / HTTP/1.1\r\n\r\n")))
            if i % 10 == 3:  # a 404 and an image between pages
                w.write_record(w.create_warc_record(url + "/gone", "response", payload=io.BytesIO(b"nope"),
                                                    http_headers=http("text/html", b"nope", "404 Not Found")))
            if i % 10 == 5:  # incompressible (deflate stores it as is), with a gzip member inside: stray 1f 8b 08
                body = rnd.randbytes(20_000 + i) + gzip.compress(b"not a record", mtime=0) + rnd.randbytes(20_000)
                w.write_record(w.create_warc_record(url + ".png", "response", payload=io.BytesIO(body),
                                                    http_headers=http("image/png", body)))
            if i % 20 == 7:  # a page quoting a record: a `WARC/1.0` line inside a payload
                w.write_record(w.create_warc_record(url + "/warc-format", "response", payload=io.BytesIO(quoted),
                                                    http_headers=http("text/html", quoted)))
            if i % 25 == 9:  # a resource record without a URL: its id is its place in the file
                w.write_record(w.create_warc_record(None, "resource", payload=io.BytesIO(b"<p>no url</p>"),
                                                    warc_content_type="text/html"))
            same = texts[i % 3]  # one language per page; sizes vary (records cut at many places)
            text = " ".join(same[(i // 3 + k) % 3] for k in range(rnd.randint(1, 3))) + f" Page {i}."
            body = f"<html><head><title>p{i}</title></head><body><p>{text}</p></body></html>".encode()
            w.write_record(w.create_warc_record(url, "response", payload=io.BytesIO(body),
                                                http_headers=http("text/html; charset=utf-8", body)))
            w.write_record(w.create_warc_record(url, "metadata", payload=io.BytesIO(b"depth: 1\r\n"),
                                                warc_content_type="application/warc-fields"))
    return path


def offsets(path: Path) -> list[int]:
    """Where each record starts (gzip member or `WARC/1.0` line), as warcio reports it."""
    from warcio.archiveiterator import ArchiveIterator

    with open(path, "rb") as f:
        it = ArchiveIterator(f)
        return [it.get_record_offset() for _ in it]


def src():
    from mmedc.config import SourceConfig

    return SourceConfig("cc", "warc", ["x"], lang="en")


def read(path: Path, part=None) -> list:
    from mmedc.sources.registry import read_file

    return list(read_file(src(), path, part=part))


def key(r) -> tuple:
    return (r.id, r.decision, r.reason, r.text, r.url)


@pytest.fixture(scope="module", params=["warc", "warc.gz"])
def warc(request, tmp_path_factory) -> Path:
    return make_warc(tmp_path_factory.mktemp("split") / f"cc.{request.param}")


@pytest.fixture(scope="module")
def whole(warc):
    """The file read as one part [0, size): ids by byte offset, as every part of a split file has them."""
    return [key(r) for r in read(warc, (0, warc.stat().st_size))]


def read_cuts(path: Path, cuts: list[int]) -> list:
    size = path.stat().st_size
    bounds = [0, *sorted(set(c for c in cuts if 0 < c < size)), size]
    return [key(r) for a, b in zip(bounds, bounds[1:]) for r in read(path, (a, b))]


def test_the_file_is_what_the_tests_need(warc, whole):
    offs = offsets(warc)
    assert len(offs) > 200
    got = Counter(d for _, d, *_ in whole)
    assert got["kept"] >= N_PAGES and got["dropped"] >= 10
    # What looks like a record start but is not: gzip magic inside compressed data, a quoted WARC line.
    raw, look = warc.read_bytes(), b"\x1f\x8b\x08" if warc.name.endswith(".gz") else b"\nWARC/1.0\r\n"
    starts = {m.start() + (look[0] == 10) for m in re.finditer(re.escape(look), raw)}
    assert starts - set(offs)


def test_one_part_is_the_whole_file_read(warc, whole):
    """Read as one part, the records are those of the whole-file read, only records without URL are
    named by byte offset instead of record number."""
    unsplit = [key(r) for r in read(warc)]
    assert [k[1:] for k in unsplit] == [k[1:] for k in whole]
    offs = offsets(warc)
    for u, w in zip(unsplit, whole):
        if u[0] != w[0]:
            base, n = u[0].rsplit("#", 1)
            assert w[0] == f"{base}@{offs[int(n) - 1]}"


def test_cuts_anywhere_read_each_record_once(warc, whole):
    offs = offsets(warc)
    for cuts in (offs[1::7],  # on member / record boundaries
                 [o + 1 for o in offs[1::5]], [o - 1 for o in offs[2::6]],  # a byte after, before
                 offs[3:40],  # every boundary: parts of one record each
                 list(range(777, warc.stat().st_size, 777))):  # inside records
        assert read_cuts(warc, cuts) == whole, cuts[:5]


def test_split_warc_plans_byte_ranges(warc, whole):
    from mmedc.sources.web import split_warc

    size = warc.stat().st_size
    assert split_warc(src(), warc, 1000, size) == [(0, size, None)]  # one unit: part None, ids unchanged
    for unit in (4096, 3001, offsets(warc)[9]):
        parts = split_warc(src(), warc, 1000, unit)
        assert len(parts) > 3 and parts[0][0] == 0 and parts[-1][1] == size
        assert all(p[1] == q[0] for p, q in zip(parts, parts[1:]))
        assert [key(r) for a, b, _ in parts for r in read(warc, (a, b))] == whole


def reasons(rows, prefix: str) -> list:
    return [k for k in rows if k[2] and k[2].startswith(prefix)]


@pytest.mark.parametrize("keep", [0.97, 0.5])
def test_a_cut_warc_gz_has_one_truncated_archive_row(warc, tmp_path, keep):
    """Cut inside a gzip member (near the end, or half way): however the file is split, the records
    before the cut are read once and the cut is one `truncated_archive` row, from the part whose
    reading reached the end."""
    if not warc.name.endswith(".gz"):
        pytest.skip("a plain WARC cut short ends inside a record: truncated_record, no archive damage")
    offs = offsets(warc)
    at = next(o for o in offs if o > keep * warc.stat().st_size) - 100  # inside the member before it
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(warc.read_bytes()[:at])
    one = [key(r) for r in read(cut, (0, at))]
    damaged = max(o for o in offs if o < at)  # the member the file ends in
    assert reasons(one, "truncated_archive:") == [one[-1]]
    assert one[-1][:3] == (f"cc:cut.warc.gz@after-{damaged}", "failed", f"truncated_archive: in the gzip member at "
                           f"byte {damaged}: the file ends inside a gzip member (cut short)")
    # As the whole-file read, which names records by number ("record 250", not "the record at byte ...").
    same = [(d, why and why.split(":")[0], text, url) for _, d, why, text, url in one]
    assert same == [(d, why and why.split(":")[0], text, url) for _, d, why, text, url in map(key, read(cut))]
    good = [o for o in offs if o < at]
    for cuts in (good[1::9], [o + 1 for o in good[1::4]], [good[-1] + 50], [good[-1]], list(range(999, at, 999))):
        assert read_cuts(cut, cuts) == one, cuts[:5]


def test_a_header_over_the_limit_fails_once(tmp_path, monkeypatch):
    """A record whose header is over the limit fails alone (`header_limit`, named by its offset) in
    whichever part it starts; reading goes on at the next record."""
    from warcio.warcwriter import WARCWriter

    from mmedc.sources import warc_headers

    monkeypatch.setattr(warc_headers, "MAX_HEADER_LINE", 2000)
    for name in ("h.warc", "h.warc.gz"):
        path = tmp_path / name
        with open(path, "wb") as f:
            w = WARCWriter(f, gzip=name.endswith(".gz"))
            for i in range(30):
                headers = {"X-Long": "x" * 3000} if i in (9, 20) else None
                w.write_record(w.create_warc_record(f"https://example.org/{i}", "resource", warc_content_type="text/html",
                                                    payload=io.BytesIO(f"<p>page {i}</p>".encode()),
                                                    warc_headers_dict=headers))
        offs = offsets_bounded(path)
        one = [key(r) for r in read(path, (0, path.stat().st_size))]
        assert [k[0] for k in reasons(one, "header_limit:")] == [f"cc:{name}@{offs[9]}", f"cc:{name}@{offs[20]}"]
        assert len(one) == 30
        for cuts in (offs[1::3], [o + 1 for o in offs], [offs[9], offs[10]], [offs[9] + 1, offs[20] - 1]):
            assert read_cuts(path, cuts) == one, cuts[:5]


def offsets_bounded(path: Path) -> list[int]:
    """Record offsets of a file warcio cannot parse whole (long headers): gzip members, or `WARC/1.0` lines."""
    raw = path.read_bytes()
    if path.name.endswith(".gz"):
        import zlib

        out, at = [], 0
        while at < len(raw):
            out.append(at)
            d = zlib.decompressobj(wbits=31)
            d.decompress(raw[at:])
            at = len(raw) - len(d.unused_data)
        return out
    return [0] + [i + 1 for i in range(len(raw)) if raw.startswith(b"\nWARC/1.0\r\n", i)]


def test_run_with_small_units_keeps_the_same(warc, tmp_path):
    """`mmedc run --local` with `[pipeline] unit_bytes` smaller than the file: several units, and the
    same documents kept as a run where the file is one unit."""
    import json

    import polars as pl
    from typer.testing import CliRunner

    from mmedc.audit.check import check
    from mmedc.cli import app

    def run(name: str, unit_bytes: int):
        folder = tmp_path / name
        folder.mkdir()
        (folder / warc.name).symlink_to(warc)
        (folder / "recipe.toml").write_text(
            f'[pipeline]\nname = "split"\nlanguages = ["en", "fr", "es"]\nunit_bytes = {unit_bytes}\n\n'
            '[dedup]\nnear = false\n\n'  # pages share their texts: kept apart by exact dedup only
            f'[[sources]]\nname = "cc"\nkind = "warc"\npaths = ["{warc.name}"]\n')
        out = folder / "run"
        r = CliRunner().invoke(app, ["run", str(folder / "recipe.toml"), "--out", str(out), "--local", "-q"])
        assert r.exit_code == 0, r.output
        assert check(out).ok
        units = json.loads((out / "work" / "units.json").read_text())
        kept = pl.read_parquet(str(out / "text" / "*.parquet"))
        return units, sorted(zip(kept["id"], kept["text"]))

    units, kept = run("one", 1 << 30)
    assert [u["part"] for u in units] == [None]
    split_units, split_kept = run("split", 60_000)
    assert len(split_units) == -(-warc.stat().st_size // 60_000) > 3
    assert len(kept) > 20 and split_kept == kept


def test_what_cannot_be_entered_mid_way_is_one_unit(warc, tmp_path):
    """A .warc.gz that is one gzip stream around all records and an ARC file: one unit, whatever their size."""
    from mmedc.sources.web import split_warc

    raw = warc.read_bytes()
    stream = tmp_path / "stream.warc.gz"
    stream.write_bytes(gzip.compress(gzip.decompress(raw) if warc.name.endswith(".gz") else raw))
    arc = tmp_path / "old.arc"
    arc.write_bytes(b"filedesc://old.arc 0.0.0.0 20000101000000 text/plain 76\n" + b"x" * 5000)
    for path in (stream, arc):
        size = path.stat().st_size
        assert split_warc(src(), path, 10, 1000) == [(0, size, None)]


def test_real_warcs_cut_at_every_byte(dev_data):
    """The real WARCs of ../shared/data (Common Crawl's, warcio's and jwarc's fixtures, malformed ones
    too) that are planned as several parts read the same, cut every byte, every 97 bytes or as planned."""
    from mmedc.sources.web import split_warc

    files = sorted(p for p in (dev_data / "warc").rglob("*") if p.name.endswith((".warc", ".warc.gz")))
    split = 0
    for p in files:
        size = p.stat().st_size
        planned = split_warc(src(), p, 10, 300)
        if len(planned) == 1:
            continue
        split += 1
        one = [key(r) for r in read(p, (0, size))]
        # As the whole-file read, which names records by number ("record 1", not "the record at byte 0").
        assert [(k[1], k[2] and k[2].split(":")[0], *k[3:]) for k in one if k[4]] == \
            [(k[1], k[2] and k[2].split(":")[0], *k[3:]) for k in map(key, read(p)) if k[4]], p.name
        for cuts in (list(range(1, size)), list(range(97, size, 97)), [a for a, _, _ in planned]):
            assert read_cuts(p, cuts) == one, p.name
    assert split >= 12  # all but the one-stream .warc.gz and a tiny one


def test_a_repeated_url_in_a_split_file_keeps_its_first_copy(tmp_path):
    """A URL read twice keeps its id in a split file; the engine keeps the first copy and fails the
    other `duplicate_id`: at ingest under its place (`@offset`) when both are in one part, at dedup when
    they are in two."""
    import json

    import polars as pl
    from typer.testing import CliRunner
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    from mmedc.cli import app

    texts = [t for (_, _, t) in MEDICAL["en"]]
    path = tmp_path / "rep.warc"
    with open(path, "wb") as f:
        w = WARCWriter(f, gzip=False)
        for i in range(40):
            n = {7: 6, 30: 5}.get(i, i)  # record 7 repeats page 6 (same part), 30 repeats page 5 (another)
            body = f"<html><body><p>{texts[i % 3]} Copy {i}.</p></body></html>".encode()
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
            w.write_record(w.create_warc_record(f"https://example.org/{n}", "response", payload=io.BytesIO(body),
                                                http_headers=http))
    offs = offsets(path)
    (tmp_path / "recipe.toml").write_text(
        '[pipeline]\nname = "rep"\nlanguages = ["en"]\nunit_bytes = 4000\n\n[dedup]\nnear = false\n\n'
        '[[sources]]\nname = "cc"\nkind = "warc"\npaths = ["rep.warc"]\nlang = "en"\n')
    out = tmp_path / "run"
    r = CliRunner().invoke(app, ["run", str(tmp_path / "recipe.toml"), "--out", str(out), "--local", "-q"])
    assert r.exit_code == 0, r.output
    units = json.loads((out / "work" / "units.json").read_text())
    assert len(units) > 3
    assert not any(a <= offs[5] < b and a <= offs[30] < b for a, b in (u["part"] for u in units))
    assert any(a <= offs[6] < b and a <= offs[7] < b for a, b in (u["part"] for u in units))
    kept = pl.read_parquet(str(out / "text" / "*.parquet"))
    assert dict(zip(kept["id"], kept["text"]))["cc:https://example.org/5"].endswith("Copy 5.")
    assert dict(zip(kept["id"], kept["text"]))["cc:https://example.org/6"].endswith("Copy 6.")
    assert kept.height == 38
    audit = pl.read_parquet(str(out / "audit" / "*" / "*.parquet")).filter(pl.col("decision") == "failed")
    assert sorted(zip(audit["step"], audit["id"], audit["reason"].str.slice(0, 13))) == [
        ("dedup", "cc:https://example.org/5", "duplicate_id:"), ("ingest", f"cc:rep.warc@{offs[7]}", "duplicate_id:")]
