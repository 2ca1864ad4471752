"""Hostile web inputs, generated here (the big ones on the fly, never stored): pages lxml cannot parse
whole, decompression bombs, huge payloads and huge WARC header lines. Each gives a recorded outcome
that names the fallback or the limit, in seconds and bounded memory, and the rest of its file is read."""
from __future__ import annotations

import gzip
import json
import subprocess
import sys
import textwrap
from pathlib import Path

from mmedc.config import SourceConfig
from mmedc.extract.html import extract_html
from mmedc.paths import ROOT
from mmedc.sources.warc_headers import MAX_HEADER_BYTES, MAX_HEADER_LINE, MAX_HEADER_LINES
from mmedc.sources.web import MAX_PAYLOAD, read_html, read_warc

SENTENCE = "Patient {i} presented with fever and a dry cough; the physician advised rest, fluids and review."


def para(i: int) -> str:
    return f"<p>{SENTENCE.format(i=i)}</p>"


def page(body: str) -> str:
    return f"<html><head><title>Influenza</title></head><body>{body}</body></html>"


# ---------------------------------------------------------------- pages lxml cannot parse whole


def test_deep_nesting_is_parsed_again_without_the_depth_limit():
    """lxml stops building the tree at depth 256 and drops what is under it: trafilatura found nothing."""
    for depth in (300, 5000):  # 5000: past even libxml2's XML_PARSE_HUGE limit (2048)
        html = page("<div>" * depth + "".join(para(i) for i in range(8)) + "</div>" * depth)
        rec = extract_html("deep", html.encode())
        assert rec.decision == "kept", (depth, rec.reason)
        assert all(SENTENCE.format(i=i) in rec.text for i in range(8))
        how = rec.meta["extractor"]
        assert how.startswith("trafilatura on a recovered parse") and "depth limit of 256" in how
        assert f"nesting of {depth + 3} levels capped at" in how  # html, body, the divs, p


def test_a_noncharacter_entity_does_not_lose_the_page():
    """&#xFFFF; is not allowed in XML: trafilatura's lxml tree refused it and the page came out empty."""
    html = page("<article>" + para(1) + "<p>odd &#xFFFF; character</p>" + para(2) + "</article>")
    rec = extract_html("ffff", html.encode())
    assert rec.decision == "kept" and SENTENCE.format(i=1) in rec.text and SENTENCE.format(i=2) in rec.text
    assert "odd  character" in rec.text or "odd character" in rec.text
    assert "1 character(s) not allowed in XML removed" in rec.meta["extractor"]


def test_unclosed_font_tags_keep_all_their_text():
    """300 unclosed <font>s nest 300 deep: lxml's parse kept half the text, with no flag."""
    html = page("".join(f"<font>{para(i)}" for i in range(300)))
    rec = extract_html("font", html.encode())
    assert rec.decision == "kept"
    missing = [i for i in range(300) if SENTENCE.format(i=i) not in rec.text]
    assert not missing, f"{len(missing)} paragraphs lost"
    assert "depth limit of 256" in rec.meta["extractor"]


def test_an_ordinary_page_takes_no_fallback_and_an_empty_one_says_what_was_tried():
    rec = extract_html("ok", page("<article>" + "".join(para(i) for i in range(5)) + "</article>").encode())
    assert rec.decision == "kept" and "extractor" not in rec.meta
    empty = extract_html("empty", b"<html><body><div></div></body></html>")
    assert empty.decision == "dropped"
    assert empty.reason == ("no_text: no main text; tried: trafilatura, trafilatura on a recovered parse "
                            "(nothing to repair), trafilatura baseline")
    assert extract_html("nul", b"\0" * 5000).reason.startswith("not_html: binary content")


# ---------------------------------------------------------------- size: bombs and huge payloads

def peak_run(code: str) -> dict:
    """Run `code` (which sets `out`, a dict) in a fresh interpreter; out + its peak RSS in MB."""
    script = textwrap.dedent(code) + textwrap.dedent("""
        import json
        # VmHWM, not ru_maxrss: Linux carries the forking parent's RSS into ru_maxrss across exec, so
        # under a large pytest process every child would seem to peak at the parent's size.
        hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0]
        out["peak_mb"] = int(hwm.split()[1]) / 1024
        print(json.dumps(out))
    """)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                       cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_html_gz_bomb_is_read_to_the_limit_only(tmp_path):
    """A 1 MB .html.gz expanding to 1 GiB (1024 gzip members of 1 MiB of spaces after a page)."""
    p = tmp_path / "bomb.html.gz"
    spaces = gzip.compress(b" " * (1 << 20), 9)
    with open(p, "wb") as f:
        f.write(gzip.compress(page("<article>" + "".join(para(i) for i in range(5)) + "</article>").encode()))
        for _ in range(1024):
            f.write(spaces)
    assert p.stat().st_size < 2 << 20
    out = peak_run(f"""
        from pathlib import Path
        from mmedc.config import SourceConfig
        from mmedc.sources.web import read_html
        (r,) = read_html(SourceConfig("h", "html", []), Path({str(p)!r}))
        out = dict(decision=r.decision, truncated=r.meta.get("truncated"), text=r.text)
    """)
    assert out["decision"] == "kept" and SENTENCE.format(i=4) in out["text"]
    assert out["truncated"] == f"decompressed page over MAX_PAYLOAD ({MAX_PAYLOAD} bytes): cut there"
    assert out["peak_mb"] < 600, out["peak_mb"]  # reading it whole: over 1 GiB


def test_a_huge_page_and_a_huge_warc_payload_are_cut_at_the_limit(tmp_path):
    big = tmp_path / "big.html"  # a page, then 1 GiB of nothing (a sparse file)
    with open(big, "wb") as f:
        f.write(page("<article>" + "".join(para(i) for i in range(5)) + "</article>" + " " * 1000).encode())
        f.truncate(1 << 30)
    (rec,) = read_html(SourceConfig("h", "html", []), tmp_path / "big.html")
    assert rec.decision == "dropped" and rec.reason.startswith("not_html: binary")  # the zeros past the page
    assert rec.meta["truncated"].startswith("page over MAX_PAYLOAD")
    # A WARC response of 64 MiB (an article, then whitespace): its first MAX_PAYLOAD bytes make the page.
    w = tmp_path / "huge.warc"
    body = page("<article>" + "".join(para(i) for i in range(5)) + "</article>").encode()
    pad = 64 << 20
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n"
    with open(w, "wb") as f:
        f.write(b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: https://a.example/huge\r\n"
                b"WARC-Record-ID: <urn:uuid:1>\r\nContent-Type: application/http; msgtype=response\r\n"
                b"Content-Length: " + str(len(http) + len(body) + pad).encode() + b"\r\n\r\n" + http + body)
        chunk = b"\n" * (1 << 20)
        for _ in range(pad >> 20):
            f.write(chunk)
        f.write(b"\r\n\r\n")
    out = peak_run(f"""
        from pathlib import Path
        from mmedc.config import SourceConfig
        from mmedc.sources.web import read_warc
        recs = list(read_warc(SourceConfig("w", "warc", []), Path({str(w)!r})))
        out = dict(recs=[(r.decision, r.reason, r.meta.get("truncated"), r.text) for r in recs])
    """)
    ((decision, reason, truncated, text),) = out["recs"]
    assert decision == "kept" and SENTENCE.format(i=4) in text
    assert truncated == f"payload over MAX_PAYLOAD ({MAX_PAYLOAD} bytes): cut there"
    assert out["peak_mb"] < 600, out["peak_mb"]


# ---------------------------------------------------------------- WARC header limits

ARTICLE = page("<article>" + "".join(para(i) for i in range(3)) + "</article>").encode()


def warc_record(url: bytes, http_head: bytes = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n") -> bytes:
    block = http_head + b"\r\n" + ARTICLE
    return (b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: " + url + b"\r\nWARC-Record-ID: <urn:uuid:"
            + url[-8:] + b">\r\nContent-Type: application/http; msgtype=response\r\nContent-Length: "
            + str(len(block)).encode() + b"\r\n\r\n" + block + b"\r\n\r\n")


def test_a_huge_header_line_fails_its_record_alone(tmp_path):
    """warcio's line reading is quadratic (a 32 MB line took 19 s): 40 MB lines, here in seconds."""
    huge_uri = b"https://a.example/" + b"x" * (40 << 20)
    huge_http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Big: " + b"y" * (40 << 20) + b"\r\n"
    cases = {
        "uri": warc_record(huge_uri),
        "http": warc_record(b"https://a.example/bad", huge_http),
        "lines": warc_record(b"https://a.example/bad", b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * (MAX_HEADER_LINES + 10)),
        "bytes": warc_record(b"https://a.example/bad", b"HTTP/1.1 200 OK\r\n"
                             + (b"X: " + b"z" * (MAX_HEADER_LINE - 10) + b"\r\n") * (MAX_HEADER_BYTES // MAX_HEADER_LINE + 1)),
    }
    why = {"uri": "a header line over MAX_HEADER_LINE", "http": "a header line over MAX_HEADER_LINE",
           "lines": "over MAX_HEADER_LINES", "bytes": "headers over MAX_HEADER_BYTES"}
    for name, bad in cases.items():
        for gz in (False, True):
            p = tmp_path / f"{name}.warc{'.gz' if gz else ''}"
            recs = [warc_record(b"https://a.example/one"), bad, warc_record(b"https://a.example/three")]
            p.write_bytes(b"".join(gzip.compress(r, 1) for r in recs) if gz else b"".join(recs))
            got = list(read_warc(SourceConfig("w", "warc", []), p))
            assert [(r.id, r.decision) for r in got] == [
                ("w:https://a.example/one", "kept"), (f"w:{p.name}#2", "failed"), ("w:https://a.example/three", "kept")], (name, gz)
            assert got[1].reason.startswith("header_limit: record 2 at byte ") and why[name] in got[1].reason


def test_a_header_limit_in_the_last_record_ends_the_file_cleanly(tmp_path):
    p = tmp_path / "tail.warc"
    p.write_bytes(warc_record(b"https://a.example/one") + b"WARC/1.0\r\nWARC-Target-URI: " + b"x" * (3 << 20))
    got = [(r.decision, r.reason.split(":")[0] if r.reason else None) for r in read_warc(SourceConfig("w", "warc", []), p)]
    assert got == [("kept", None), ("failed", "header_limit")]
    # A gzip member cut inside the bad record: the cut is said too.
    q = tmp_path / "tail.warc.gz"
    data = gzip.compress(warc_record(b"https://a.example/one"))
    bad = gzip.compress(b"WARC/1.0\r\nWARC-Target-URI: " + b"x" * (3 << 20) + b"\r\n\r\n")
    q.write_bytes(data + bad[: len(bad) // 2])
    reasons = [r.reason.split(":")[0] for r in read_warc(SourceConfig("w", "warc", []), q) if r.reason]
    assert reasons == ["header_limit", "truncated_archive"]


def test_dev_zero_as_a_warc_is_one_failed_row():
    got = [(r.decision, r.reason) for r in read_warc(SourceConfig("w", "warc", []), Path("/dev/zero"))]
    assert got == [("failed", f"header_limit: record 1 at byte 0: a header line over MAX_HEADER_LINE ({MAX_HEADER_LINE} bytes)")]


def test_ordinary_archives_read_as_before(tmp_path):
    """Long but sane headers (an 8 KB URL, 100 headers) are untouched by the limits."""
    url = b"https://a.example/" + b"q" * 8000
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(100))
    p = tmp_path / "ok.warc"
    p.write_bytes(warc_record(url, head) + warc_record(b"https://a.example/two"))
    assert [r.decision for r in read_warc(SourceConfig("w", "warc", []), p)] == ["kept", "kept"]
