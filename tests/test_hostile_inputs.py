"""Hostile and broken inputs and settings (issue 18): one bad record fails alone, limits bound time and
memory, ids stay unique, settings that would fail every document fail before any task, user errors
are one line. Big inputs are generated here, on the fly; each test takes seconds."""
from __future__ import annotations

import datetime
import gzip
import json
import os
import subprocess
import sys
import textwrap
import time
import tracemalloc
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mmedc.audit.check import check
from mmedc.config import LimitsConfig, RecipeError, SourceConfig, load_recipe
from mmedc.core.record import Record
from mmedc.engine.runner import RunError, fasttext_size, run
from mmedc.executor import LocalExecutor
from mmedc.paths import ROOT
from mmedc.sample.build import all_docs
from mmedc.sources.corpus import read_jsonl, read_parquet

MEDICAL = [d for d in all_docs() if d["label"] == "medical"]
GENERAL = [d for d in all_docs() if d["label"] != "medical"]
SRC = SourceConfig("c", "jsonl", [])


def _recipe(root: Path, sources: str, extra: str = "", languages='["en", "zh", "ja", "fr", "ru", "es"]') -> Path:
    r = root / "r.toml"
    r.write_text(textwrap.dedent(f"""
        [pipeline]
        name = "hostile"
        languages = {languages}
        """) + textwrap.dedent(sources) + textwrap.dedent(extra))
    return r


def _source(name: str, kind: str, *paths: str) -> str:
    return f'[[sources]]\nname = "{name}"\nkind = "{kind}"\npaths = {json.dumps(list(paths))}\n'


def _line(**obj) -> str:
    return json.dumps(obj, ensure_ascii=False) + "\n"


def _gzip_of_long_line(path: Path, size: int, before: str = "", after: str = ""):
    """A .jsonl.gz whose one line decompresses to `size` bytes: gzip members, one of 64 MiB of "a"
    compressed once and written size / 64 MiB times (a reader follows concatenated members)."""
    block = gzip.compress(b"a" * (64 << 20), compresslevel=9)
    with open(path, "wb") as f:
        f.write(gzip.compress(before.encode() + b'{"id": "huge", "text": "'))
        for _ in range(size >> 26):
            f.write(block)
        f.write(gzip.compress(b'"}\n' + after.encode()))


# ------------------------------------------------------------------ records (item 2)
def test_lone_surrogates_and_odd_types_fail_only_their_record(tmp_path):
    f = tmp_path / "c.jsonl"
    f.write_text("".join([
        _line(id="good", text="fine text", url="https://a.org/1"),
        '{"id": "s-text", "text": "bad \\ud800 text"}\n',  # json.loads gives a lone surrogate
        '{"id": "\\udfff", "text": "fine"}\n',
        '{"id": "s-meta", "text": "fine", "note": "\\ud83d"}\n',
        '{"id": "emoji", "text": "a pair is fine \\ud83d\\ude00"}\n',
        _line(id="num-url", text="fine", url=12),
        _line(id="obj-url", text="fine", url={"href": "x"}),
        _line(id={"nested": 1}, text="fine"),
        _line(id="list-text", text=["a"]),
        _line(id=7, text="an integer id is kept"),
        '{"id": ' + "9" * 5000 + ', "text": "x"}\n',  # Python refuses ints of over 4,300 digits
        '{"id": "deep", "text": "x", "m": ' + "[" * 100_000 + "]" * 100_000 + '}\n',
    ]))
    recs = {r.where.split("#")[1]: r.checked() for r in read_jsonl(SRC, f)}
    assert recs["1"].decision == "kept" and recs["1"].id == "c:good"
    assert recs["2"].decision == "failed" and recs["2"].reason.startswith("bad_text: lone surrogate U+D800")
    assert recs["3"].decision == "failed" and "bad_id" in recs["3"].reason and recs["3"].id == "c:c.jsonl#3"
    assert recs["4"].decision == "failed" and recs["4"].reason.startswith("bad_metadata")
    assert recs["5"].decision == "kept" and recs["5"].text.endswith("\U0001F600")
    assert recs["6"].decision == "kept" and recs["6"].url == "12"
    assert recs["7"].decision == "kept" and json.loads(recs["7"].url) == {"href": "x"}
    assert recs["8"].decision == "failed" and recs["8"].reason == "bad_field: 'id' is dict"
    assert recs["9"].decision == "failed" and recs["9"].reason == "bad_field: 'text' is list"
    assert recs["10"].id == "c:7"
    assert recs["11"].reason.startswith("invalid_json: line 11: ValueError") and recs["12"].reason.startswith("invalid_json")
    for r in recs.values():  # every record can be written as it is
        pa.Table.from_pylist([{"id": r.id, "reason": r.reason, "meta": r.meta_json}])


def test_metadata_of_any_type_is_kept_as_json():
    r = Record.ok("x", "text", None, when=datetime.datetime(2024, 1, 2), raw=b"\x00\xff", n=float("nan"),
                  nested={"a": [1, {"b": None}]}).checked()
    meta = json.loads(r.to_doc("s", None)["meta"].replace("NaN", "null"))
    assert r.decision == "kept" and meta["when"].startswith("2024-01-02") and meta["nested"]["a"][1] == {"b": None}
    bad = Record.ok("y", "text", None, keys={1: "a", "b": 2}).checked()  # unsortable keys
    assert bad.decision == "failed" and bad.reason.startswith("bad_metadata")
    long = Record.ok("z", "x" * 101).checked(max_doc_chars=100)
    assert long.decision == "failed" and long.reason.startswith("limit: max_doc_chars")


# ------------------------------------------------------------------ limits (item 4)
def test_a_10_gb_line_in_a_gzip_fails_in_seconds_in_bounded_memory(tmp_path):
    f = tmp_path / "bomb.jsonl.gz"
    _gzip_of_long_line(f, 10 << 30, before=_line(id="first", text="kept before the bomb"))
    assert f.stat().st_size < 20 << 20
    limits = LimitsConfig(max_line_bytes=8 << 20)
    tracemalloc.start()
    t0 = time.time()
    recs = list(read_jsonl(SRC, f, limits=limits))
    secs, peak = time.time() - t0, tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert [r.decision for r in recs] == ["kept", "failed"]
    assert recs[1].reason.startswith("limit: max_line_bytes: line 2 is over 8,388,608 bytes")
    assert "rest of the compressed file" in recs[1].reason
    assert peak < 64 << 20 and secs < 20


def test_a_long_plain_line_is_skipped_and_the_next_ones_read(tmp_path):
    f = tmp_path / "c.jsonl"
    with open(f, "w") as w:
        w.write(_line(id="a", text="first"))
        w.write('{"id": "huge", "text": "' + "b" * (16 << 20) + '"}\n')
        w.write(_line(id="c", text="after the long line"))
    limits = LimitsConfig(max_line_bytes=1 << 20)
    tracemalloc.start()
    whole = list(read_jsonl(SRC, f, limits=limits))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert [(r.id, r.decision) for r in whole] == [("c:a", "kept"), ("c:c.jsonl#2", "failed"), ("c:c", "kept")]
    assert peak < 4 << 20  # a 16 MB line, never held
    # Byte ranges cut inside the long line: every line is owned by exactly one range.
    size = f.stat().st_size
    cuts = [0, 10, 2 << 20, size - 5, size]
    parts = [r for a, b in zip(cuts, cuts[1:]) for r in read_jsonl(SRC, f, part=(a, b), limits=limits)]
    assert [(r.id, r.decision) for r in parts] == [("c:a", "kept"), (f"c:c.jsonl@{len(_line(id='a', text='first'))}", "failed"),
                                                   ("c:c", "kept")]


def test_decompressed_bytes_per_file_are_capped(tmp_path):
    f = tmp_path / "many.jsonl.gz"
    with gzip.open(f, "wt") as w:
        for i in range(20000):
            w.write(_line(id=i, text="x" * 100))
    recs = list(read_jsonl(SRC, f, limits=LimitsConfig(max_file_bytes=1 << 20)))
    assert recs[-1].decision == "failed" and recs[-1].reason.startswith("limit: max_file_bytes")
    assert 8000 < len(recs) < 10000 and all(r.decision == "kept" for r in recs[:-1])


def test_a_huge_parquet_cell_fails_before_it_becomes_a_string(tmp_path):
    f = tmp_path / "c.parquet"
    pq.write_table(pa.table({"id": ["a", "big", "c"], "text": ["short one", "x" * (32 << 20), "short two"],
                             "meta": [{"k": 1}, {"k": 2}, {"k": 3}]}), f, compression="zstd")
    tracemalloc.start()
    recs = list(read_parquet(SourceConfig("p", "parquet", []), f, limits=LimitsConfig(max_line_bytes=1 << 20)))
    peak = tracemalloc.get_traced_memory()[1]  # Python objects only (Arrow's buffers are not traced)
    tracemalloc.stop()
    assert [r.decision for r in recs] == ["kept", "failed", "kept"] and peak < 16 << 20
    assert recs[1].reason.startswith("limit: max_line_bytes: row 2's 'text' is 33,554,432 bytes")
    assert json.loads(recs[0].checked().to_doc("p", None)["meta"]) == {"meta": {"k": 1}}


# ------------------------------------------------------------------ a whole run (items 2, 4, 5, 9)
def test_a_run_over_hostile_inputs_keeps_going_with_unique_ids(tmp_path):
    med = MEDICAL
    (tmp_path / "a.jsonl").write_text("".join(
        [_line(id=d["id"], text=d["text"], url=f"https://x.org/{d['id']}") for d in med[:8]]
        + ['{"id": "surrogate", "text": "' + med[8]["text"].replace('"', "") + ' \\ud800"}\n',
           _line(id="url-object", text=med[9]["text"], url={"a": [1]}),
           _line(id=med[0]["id"], text=med[10]["text"]),  # a repeated id in one file: the first wins
           _line(id="long", text=med[11]["text"] * 40)]))  # over max_doc_chars below
    (tmp_path / "b.jsonl").write_text("".join(  # the same ids as a.jsonl (another unit)
        [_line(id=d["id"], text=d["text"] + " (other copy)") for d in med[:3]]
        + [_line(id="b-only", text=med[12]["text"])]))
    pq.write_table(pa.table({"id": ["p1", "p2"], "text": [med[13]["text"], med[14]["text"]],
                             "meta": [{"x": 1}, {"x": None}]}), tmp_path / "c.parquet")
    (tmp_path / "names").mkdir()  # a file name that is not UTF-8 (Python holds its byte as a surrogate)
    with open(os.path.join(os.fsencode(tmp_path / "names"), b"bad\xff.jsonl"), "w") as f:
        f.write(_line(id="odd-name", text=med[15]["text"]))
    recipe = load_recipe(_recipe(tmp_path, _source("a", "jsonl", "a.jsonl", "b.jsonl", "/dev/zero")
                                 + _source("p", "parquet", "c.parquet") + _source("n", "jsonl", "names"),
                                 "[limits]\nmax_doc_chars = 20000\n"))
    old = os.umask(0o002)
    try:
        res = run(recipe, tmp_path / "out", executor=LocalExecutor(), progress=False)
    finally:
        os.umask(old)
    out = tmp_path / "out"
    a = pl.read_parquet(str(out / "audit" / "*" / "*.parquet"))
    failed = {r["id"]: r["reason"] for r in a.filter(decision="failed").iter_rows(named=True)}
    assert failed["a:surrogate"].startswith("bad_text: lone surrogate")
    assert failed["a:a.jsonl#11"] == f"duplicate_id: a:{med[0]['id']} was read earlier in this unit"
    assert failed["a:long"].startswith("limit: max_doc_chars")
    assert failed["a:zero"].startswith("not_a_regular_file")
    dup_rows = a.filter(step="dedup", decision="failed")
    assert sorted(dup_rows["id"]) == sorted(f"a:{d['id']}" for d in med[:3])
    assert set(dup_rows["reason"]) == {"duplicate_id: kept in unit a-00001"}  # a-00000 is /dev/zero
    shards = pl.read_parquet(str(out / "shards" / "*.parquet"))
    assert shards["id"].n_unique() == shards.height and "a:url-object" in shards["id"].to_list()
    assert {"a:b-only", "p:p1", "p:p2", "n:odd-name"} <= set(shards["id"])
    assert check(out).ok, check(out).violations
    assert res.manifest["totals"]["docs"] == shards.height
    modes = {oct(p.stat().st_mode & 0o777) for p in [out / "manifest.json", *out.glob("shards/*"), *out.glob("audit/*/*")]}
    assert modes == {"0o664"}
    # A rerun keeps the same winners; nothing is redone.
    again = run(recipe, out, executor=LocalExecutor(), progress=False)
    assert again.skipped_tasks and pl.read_parquet(str(out / "shards" / "*.parquet"))["id"].sort().equals(shards["id"].sort())


# ------------------------------------------------------------------ settings (items 6, 9)
def test_recipe_values_are_typed_and_language_codes_are_pack_names(tmp_path):
    src = _source("a", "jsonl", "a.jsonl")
    (tmp_path / "a.jsonl").write_text(_line(id="a", text="x"))
    cases = {
        "[dedup]\nthreshold = \"high\"\n": "[dedup] threshold = 'high': expected float",
        "[limits]\nmax_line_bytes = 0\n": "[limits] max_line_bytes must be a positive integer",
        "[limits]\nmax_line = 5\n": "unknown key(s) ['max_line']",
        "[ocr]\nenabled = \"yes\"\n": "[ocr] enabled = 'yes': expected bool",
        "[shards]\nlang_weights = {en = \"2\"}\n": "[shards] lang_weights",
    }
    for extra, msg in cases.items():
        with pytest.raises(RecipeError, match=msg.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(")
                           .replace(")", r"\)")):
            load_recipe(_recipe(tmp_path, src, extra))
    with pytest.raises(RecipeError, match="unknown key"):
        load_recipe(_recipe(tmp_path, "langauges = []\n" + src))
    with pytest.raises(RecipeError, match="is not a pack name"):
        load_recipe(_recipe(tmp_path, src, languages='["en", "../../x/evil"]'))


def _packs_without_medical(tmp_path: Path) -> Path:
    d = tmp_path / "packs"
    d.mkdir()
    text = (ROOT / "filters" / "en.toml").read_text()
    (d / "en.toml").write_text(text[:text.index("[medical]")])
    return d


def test_settings_that_would_fail_every_document_stop_the_run_before_any_task(tmp_path, monkeypatch):
    (tmp_path / "a.jsonl").write_text(_line(id="a", text=MEDICAL[0]["text"]))
    src = _source("a", "jsonl", "a.jsonl")
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not a model " * 100)
    for model, msg in [(junk, "cannot be loaded as a fastText model"), (tmp_path / "none.bin", "not found")]:
        recipe = load_recipe(_recipe(tmp_path, src, f'[langid]\nmodel = "{model}"\n', languages='["en"]'))
        with pytest.raises(RunError, match=msg):
            run(recipe, tmp_path / "out", executor=LocalExecutor(), progress=False)
    assert not (tmp_path / "out").exists()  # nothing ran
    # A fastText file cut short spins fastText's loader: its own headers tell, in milliseconds.
    from mmedc.classify.langid import default_model_path

    whole = default_model_path().read_bytes()
    assert fasttext_size(str(default_model_path()), chunk=7) == len(whole)  # words across read chunks
    for size, msg in [(100_000, "cut short in the dictionary"), (len(whole) - 1, "but its headers say")]:
        cut = tmp_path / f"cut{size}.ftz"
        cut.write_bytes(whole[:size])
        recipe = load_recipe(_recipe(tmp_path, src, f'[langid]\nmodel = "{cut}"\n', languages='["en"]'))
        t0 = time.time()
        with pytest.raises(RunError, match=msg):
            run(recipe, tmp_path / "out", executor=LocalExecutor(), progress=False)
        assert time.time() - t0 < 5
    monkeypatch.setenv("MMEDC_PACKS", str(_packs_without_medical(tmp_path)))
    recipe = load_recipe(_recipe(tmp_path, src, languages='["en"]'))
    with pytest.raises(RunError, match=r"language pack en .* has no \[medical\] terms"):
        run(recipe, tmp_path / "out", executor=LocalExecutor(), progress=False)


def test_a_step_that_keeps_nothing_fails_the_run_naming_it(tmp_path):
    (tmp_path / "a.jsonl").write_text("".join(_line(id=d["id"], text=d["text"]) for d in GENERAL))
    recipe = load_recipe(_recipe(tmp_path, _source("a", "jsonl", "a.jsonl")))
    with pytest.raises(RunError, match=r"step medical kept none of the 7 documents .*most often: not_medical"):
        run(recipe, tmp_path / "out", executor=LocalExecutor(), progress=False)
    assert check(tmp_path / "out").ok  # the audit is there to say why


def test_user_errors_end_in_one_line(tmp_path):
    (tmp_path / "a.jsonl").write_text(_line(id="a", text="x"))
    r = _recipe(tmp_path, _source("a", "jsonl", "a.jsonl"))
    (tmp_path / "file").write_text("")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    p = subprocess.run([sys.executable, "-m", "mmedc.cli", "run", str(r), "--out", str(tmp_path / "file"), "--local", "-q"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert p.stderr.strip().splitlines() == [f"error: FileExistsError: [Errno 17] File exists: '{tmp_path / 'file'}'"]


SLOW_STEP = '''
import os, time
from mmedc.core.step import KEPT, Outcome, Step, step

@step("slow")
class Slow(Step):
    def process(self, docs):
        out = []
        for d in docs:
            with open(os.environ["MMEDC_TEST_BEAT"], "a") as f:
                f.write(f"{time.time()}\\n")
            time.sleep(0.1)
            out.append(Outcome(KEPT, None, {}))
        return out
'''


def test_a_killed_driver_stops_its_tasks(tmp_path):
    """SIGKILL of `mmedc run` (embedded Ray): its workers stop within seconds, not a minute later."""
    import signal

    (tmp_path / "slow_step.py").write_text(SLOW_STEP)
    (tmp_path / "a.jsonl").write_text("".join(_line(id=f"d{i}", text=f"text {i}") for i in range(3000)))
    r = _recipe(tmp_path, _source("a", "jsonl", "a.jsonl"), languages='["en"]').read_text()
    r = r.replace('name = "hostile"', 'name = "hostile"\nplugins = ["slow_step"]\nsteps = ["slow"]\nbatch_docs = 10')
    (tmp_path / "r.toml").write_text(r)
    beat = tmp_path / "beat.txt"
    env = dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{tmp_path}", MMEDC_TEST_BEAT=str(beat))
    p = subprocess.Popen([sys.executable, "-m", "mmedc.cli", "run", str(tmp_path / "r.toml"), "--out",
                          str(tmp_path / "out"), "--workers", "1", "-q"], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.time() + 120
        while not (beat.exists() and len(beat.read_text().split()) >= 5) and time.time() < deadline:
            assert p.poll() is None, "the run ended before its task started"
            time.sleep(0.2)
        os.kill(p.pid, signal.SIGKILL)
        killed = time.time()
        p.wait()
        time.sleep(8)
        last = float(beat.read_text().split()[-1])
        assert last - killed < 5, f"a task went on {last - killed:.1f} s after its driver was killed"
    finally:
        try:  # what is left of the run (none expected): its own process group, after the measurement
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
