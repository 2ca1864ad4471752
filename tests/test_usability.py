"""What a data engineer meets first: the corpus as a text dataset with a card, loose-file commands that
never break on one bad line, packs added beside the shipped ones, ids as the user wrote them, a step's
settings per source, help texts with their defaults, audit commands that reject typos, Ray's chatter
kept out of the terminal."""
from __future__ import annotations

import gzip
import json
import os
import pickle
import re
import shutil
import sys
import textwrap
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from mmedc.cli import app
from mmedc.paths import ROOT
from mmedc.sample.texts import EXAMS, MEDICAL

runner = CliRunner()
LONG = MEDICAL["en"][0][2]  # a long English medical text of the sample


def _bad_jsonl(path: Path) -> Path:
    """Five good records, a Latin-1 line (line 3) and a cut JSON line (line 6)."""
    with open(path, "wb") as f:
        for i in range(5):
            f.write((json.dumps({"id": f"d{i}", "text": f"{LONG} ({i})", "lang": "en"}) + "\n").encode())
            if i == 1:
                f.write('{"id": "latin", "text": "le médecin"}\n'.encode("latin-1"))
            if i == 3:
                f.write(b'{"id": "cut", "text": \n')
    return path


def _parquet(path: Path) -> Path:
    pq.write_table(pa.Table.from_pylist([{"id": f"p{i}", "text": f"{LONG} [{i}]", "lang": "en"} for i in range(4)]), path)
    return path


def _lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in Path(path).read_text(encoding="utf-8").splitlines()]


LATIN = "undecodable_line: byte 0xe9 at column 30 is not UTF-8"
CUT = "invalid_json: Expecting value at column 23"


def test_loose_reader_reports_every_bad_line_alike(tmp_path):
    from mmedc.sources.jsonl import read_records

    items = list(read_records(_bad_jsonl(tmp_path / "a.jsonl")))
    assert [(i.n, i.error) for i in items if i.error] == [(3, LATIN), (6, CUT)]
    assert [i.obj["id"] for i in items if not i.error] == [f"d{i}" for i in range(5)]
    (tmp_path / "b.jsonl").write_text('[1]\n\n{"id": 1}\n{"text": "x"}\n')
    assert [(i.n, i.error) for i in read_records(tmp_path / "b.jsonl")] == [
        (1, "not_an_object: list"), (3, "no_text: no string `text` field"), (4, None)]
    # A truncated gzip: the lines before stay, the damage is one error record.
    blob = gzip.compress(b"".join(json.dumps({"text": f"t{i}"}).encode() + b"\n" for i in range(200)))
    (tmp_path / "c.jsonl.gz").write_bytes(blob[: len(blob) // 2])
    got = list(read_records(tmp_path / "c.jsonl.gz"))
    assert got[-1].error.startswith("corrupt_file: after line") and len(got) > 50
    assert all(i.error is None for i in got[:-2])  # the line cut by the damage may be the one before
    rows = list(read_records(_parquet(tmp_path / "d.parquet")))
    assert [(r.unit, r.n, r.obj["id"]) for r in rows] == [("row", i + 1, f"p{i}") for i in range(4)]


def test_classify_and_clean_write_error_records_in_place(tmp_path):
    bad = _bad_jsonl(tmp_path / "in.jsonl")
    for cmd in (["classify", "-l", "en"], ["clean", "--lang", "en"]):
        out = tmp_path / f"{cmd[0]}.jsonl"
        res = runner.invoke(app, [*cmd, str(bad), "-o", str(out)])
        assert res.exit_code == 0 and res.exception is None, res.output
        got = _lines(out)
        assert len(got) == 7  # every line, in order
        assert got[2] == {"line": 3, "error": LATIN} and got[5] == {"line": 6, "error": CUT}
        assert [g["id"] for g in got if "id" in g] == [f"d{i}" for i in range(5)]
        assert "in.jsonl:3: " + LATIN in res.output
        # --output is still accepted; Parquet input works the same.
        out2 = tmp_path / f"{cmd[0]}-pq.jsonl"
        res = runner.invoke(app, [*cmd, str(_parquet(tmp_path / "in.parquet")), "--output", str(out2)])
        assert res.exit_code == 0, res.output
        assert [g["id"] for g in _lines(out2)] == [f"p{i}" for i in range(4)]
    cleaned = _lines(tmp_path / "clean.jsonl")
    assert all(c["quality"] == "kept" for c in cleaned if "id" in c)


def test_dedup_and_decontam_index_on_bad_lines(tmp_path, ray_local):
    bad = _bad_jsonl(tmp_path / "in.jsonl")
    res = runner.invoke(app, ["dedup", str(bad), "-o", str(tmp_path / "d.jsonl"), "-q"])
    assert res.exit_code == 0 and res.exception is None, res.output
    got = _lines(tmp_path / "d.jsonl")
    assert got[2] == {"line": 3, "error": LATIN, "duplicate": False, "cluster": None}
    assert got[5]["error"] == CUT and "2 unreadable line(s)" in res.output
    # The good records are one text with "(i)" appended: near-duplicates of the first.
    assert [(g["duplicate"], g["cluster"]) for g in got if "id" in g] == [(False, "d0")] + [(True, "d0")] * 4
    res = runner.invoke(app, ["dedup", str(_parquet(tmp_path / "p.parquet")), "--out", str(tmp_path / "p.jsonl"), "-q"])
    assert res.exit_code == 0, res.output
    assert [g["id"] for g in _lines(tmp_path / "p.jsonl")] == [f"p{i}" for i in range(4)]
    res = runner.invoke(app, ["decontam", "index", str(bad), "-o", str(tmp_path / "idx")])
    assert res.exit_code == 0 and res.exception is None, res.output
    meta = json.loads((tmp_path / "idx" / "meta.json").read_text())
    assert meta["n_errors"] == 2 and any("undecodable_line" in str(e) for e in meta["errors"])


def test_text_dataset_and_card_load_with_datasets(sample_run, tmp_path):
    datasets = pytest.importorskip("datasets")
    card = (sample_run / "README.md").read_text()
    assert card.startswith("---\n") and "config_name: text" in card and "path: text/*.parquet" in card
    assert "## Tokens by language and source" in card and "| ingest |" in card and "license:" in card
    text = datasets.load_dataset(str(sample_run), "text", split="train", cache_dir=str(tmp_path / "hf"))
    tokens = datasets.load_dataset(str(sample_run), "tokens", split="train", cache_dir=str(tmp_path / "hf"))
    assert text["id"] == tokens["id"] and len(text) > 0  # id for id, in the shards' order
    assert text["n_tokens"] == tokens["n_tokens"] and all(t.strip() for t in text["text"])
    assert {"lang", "source", "url", "medical_score"} <= set(text.column_names)
    filtered = pl.read_parquet(str(sample_run / "work" / "filtered" / "*.parquet"))
    by_id = dict(zip(filtered["id"], filtered["text"]))
    assert all(by_id[i] == t for i, t in zip(text["id"], text["text"]))
    manifest = json.loads((sample_run / "manifest.json").read_text())
    assert [t["file"].replace("text/", "") for t in manifest["text"]] == [
        s["file"].replace("shards/", "") for s in manifest["shards"]]


def test_text_switch_off(sample_inputs, sample_run, tmp_path):
    import dataclasses

    from mmedc.config import load_recipe
    from mmedc.shards.manifest import build_manifest
    from mmedc.shards.writer import write_output_shards

    for sub in ("tokenized", "filtered"):
        shutil.copytree(sample_run / "work" / sub, tmp_path / "work" / sub)
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "old.parquet").write_bytes(b"")
    recipe = load_recipe(sample_inputs)
    recipe.shards = dataclasses.replace(recipe.shards, text=False, target_tokens=500)
    names = sorted(p.stem for p in (tmp_path / "work" / "tokenized").glob("*.parquet"))
    write_output_shards(recipe, names, tmp_path)
    m = build_manifest(tmp_path, {"eos_id": 0}, recipe.name, recipe.fingerprint(), recipe=recipe)
    assert not (tmp_path / "text").exists() and m["text"] == [] and len(m["shards"]) > 1
    card = (tmp_path / "README.md").read_text()
    assert "config_name: text" not in card and "config_name: tokens" in card and "[shards] text = false" in card


@pytest.fixture()
def packs_reset():
    from mmedc.classify.packs import load_pack
    from mmedc.paths import use_pack_dirs

    yield
    use_pack_dirs([])
    load_pack.cache_clear()


def test_packs_overlay(tmp_path, monkeypatch, packs_reset):
    from mmedc.classify.packs import PackError, available_packs, load_pack
    from mmedc.config import load_recipe
    from mmedc.paths import find_pack, use_pack_dirs

    mine = tmp_path / "mypacks"
    res = runner.invoke(app, ["lang", "add", "it", "--name", "Italian", "--script", "latin", "--dir", str(mine)])
    assert res.exit_code == 0, res.output
    assert [p.name for p in mine.iterdir()] == ["it.toml"]
    monkeypatch.setenv("MMEDC_PACKS", str(mine))
    load_pack.cache_clear()
    assert {"en", "zh", "it"} <= set(available_packs())  # added to the shipped packs, not instead of them
    assert load_pack("en").path == ROOT / "filters" / "en.toml" and load_pack("it").path == mine / "it.toml"
    (mine / "en.toml").write_text((ROOT / "filters" / "en.toml").read_text().replace('name = "English"', 'name = "Mine"'))
    load_pack.cache_clear()
    assert load_pack("en").path == mine / "en.toml"  # a user's pack overrides the shipped one
    with pytest.raises(PackError, match=r"lang add xx --dir FOLDER"):
        load_pack("xx")
    # The recipe key instead of the variable: folders relative to the recipe, searched first.
    monkeypatch.delenv("MMEDC_PACKS")
    (mine / "en.toml").unlink()
    (tmp_path / "a.jsonl").write_text(json.dumps({"id": "1", "text": LONG}) + "\n")
    r = tmp_path / "r.toml"
    r.write_text('[pipeline]\nlanguages = ["en", "it"]\npacks = ["mypacks"]\n'
                 '[[sources]]\nname = "c"\nkind = "jsonl"\npaths = ["a.jsonl"]\n')
    recipe = load_recipe(r)
    files = recipe.settings_files()
    assert str(mine.resolve() / "it.toml") in files and files[str(mine.resolve() / "it.toml")] != "absent"
    # A task's copy of the recipe (Ray pickles it) searches the recipe's folders too.
    use_pack_dirs([])
    assert find_pack("it") is None
    pickle.loads(pickle.dumps(recipe))
    assert find_pack("it") == mine.resolve() / "it.toml"
    r.write_text(r.read_text().replace('"mypacks"', '"nope"'))
    with pytest.raises(Exception, match=r"\[pipeline\] packs: folder .*nope does not exist"):
        load_recipe(r)


def _two_source_run(tmp_path: Path, extra: str = ""):
    from mmedc.config import load_recipe
    from mmedc.engine.runner import run
    from mmedc.executor import LocalExecutor

    q = EXAMS["en"][0][1]
    for name in ("a", "b"):
        (tmp_path / f"{name}.jsonl").write_text(
            json.dumps({"id": "q1", "text": q}) + "\n" + json.dumps({"id": f"long-{name}", "text": LONG + f" {name}"}) + "\n")
    r = tmp_path / "r.toml"
    r.write_text(textwrap.dedent(f"""
        [pipeline]
        languages = ["en"]
        [[sources]]
        name = "a"
        kind = "jsonl"
        paths = ["a.jsonl"]
        [sources.quality]
        min_words = 5
        [[sources]]
        name = "b"
        kind = "jsonl"
        paths = ["b.jsonl"]
        [sources.pii]
        enabled = false
        {extra}
        """))
    out = tmp_path / "out"
    run(load_recipe(r), out, progress=False, executor=LocalExecutor())
    return r, out


def test_step_settings_per_source_and_ids_as_written(tmp_path):
    from mmedc.config import RecipeError, load_recipe

    r, out = _two_source_run(tmp_path)
    audit = pl.read_parquet(str(out / "audit" / "*" / "*.parquet"))
    q = audit.filter(pl.col("step") == "quality").sort("id")
    row = {i: (d, rs, json.loads(det or "{}")) for i, d, rs, det in q.select("id", "decision", "reason", "detail").rows()}
    assert row["a:q1"][0] == "kept" and row["a:q1"][2]["source_settings"] == {"min_words": 5}
    assert row["b:q1"][0] == "dropped" and row["b:q1"][1].startswith("quality_min_words")
    assert "source_settings" not in row["b:long-b"][2]
    pii = audit.filter((pl.col("step") == "pii") & (pl.col("source") == "b"))
    assert pii.height == 1 and json.loads(pii["detail"][0])["source_settings"] == {"enabled": False}
    # Ids as the user wrote them.
    res = runner.invoke(app, ["audit", "explain", str(out), "long-a"])
    assert res.exit_code == 0 and "a:long-a" in res.output, res.output
    assert max(len(x) for x in res.output.splitlines()) <= 80
    res = runner.invoke(app, ["audit", "explain", str(out), "q1"])
    assert res.exit_code == 1 and "ambiguous" in res.output and "a:q1" in res.output and "b:q1" in res.output
    res = runner.invoke(app, ["audit", "explain", str(out), "zzz"])
    assert res.exit_code == 1 and "<source>:<id>" in res.output
    res = runner.invoke(app, ["audit", "sample", str(out), "--step", "quality", "--id", "long-b", "--json"])
    assert res.exit_code == 0 and [d["id"] for d in json.loads(res.output)] == ["b:long-b"], res.output
    # A key no step takes is an error naming the ones it does.
    bad = r.read_text().replace("min_words = 5", "min_wrods = 5")
    r.write_text(bad)
    with pytest.raises(RecipeError, match=r"\[sources.quality\]: unknown key\(s\) \['min_wrods'\]; known: .*min_words"):
        load_recipe(r)


def test_audit_rejects_unknown_steps_and_columns(sample_run):
    res = runner.invoke(app, ["audit", "summary", str(sample_run), "--step", "medcal"])
    assert res.exit_code != 0 and "unknown step 'medcal'" in res.output and "medical" in res.output
    res = runner.invoke(app, ["audit", "sample", str(sample_run), "--step", "medcal"])
    assert res.exit_code != 0 and "steps of this run" in res.output
    res = runner.invoke(app, ["audit", "sample", str(sample_run), "--step", "medical", "--where", "medcal_density > 1"])
    assert res.exit_code != 0 and "unknown column(s) medcal_density" in res.output
    assert len(res.output.splitlines()) <= 3  # one message, not a query plan
    res = runner.invoke(app, ["audit", "sample", str(sample_run), "--step", "medical", "--decision", "dropped", "-n", "3"])
    assert res.exit_code == 0 and max(len(x) for x in res.output.splitlines()) <= 80


def _commands(cmd, path=()):
    if hasattr(cmd, "commands"):  # a group (typer vendors click: no isinstance checks)
        for name, sub in cmd.commands.items():
            yield from _commands(sub, (*path, name))
    else:
        yield path, cmd


def test_every_help_shows_its_defaults():
    root = typer.main.get_command(app)
    seen = 0
    for path, cmd in _commands(root):
        res = runner.invoke(app, [*path, "--help"])
        assert res.exit_code == 0, (path, res.output)
        assert not re.search(r"[\w)`] \.(\s|$)", res.output), (path, res.output)  # no help text lost its default
        ctx = cmd.context_class(cmd, info_name=path[-1])
        for p in cmd.params:
            if p.param_type_name != "option" or p.name == "help" or p.show_default is False:
                continue
            if p.default in (None, False, ()) and not isinstance(p.show_default, str):
                continue  # nothing to show (an optional value, an off flag)
            record = p.get_help_record(ctx)
            assert record and "default:" in record[1], (path, p.name, record)
            seen += 1
    assert seen > 40


def test_out_is_the_output_option_everywhere():
    root = typer.main.get_command(app)
    for path, cmd in _commands(root):
        for p in cmd.params:
            if p.param_type_name == "option" and p.name in ("out", "output", "dest"):
                assert "--out" in p.opts and "-o" in p.opts, (path, p.opts)


def test_sample_recipe_builds_its_inputs(tmp_path, monkeypatch):
    import mmedc.paths
    from mmedc.config import RecipeError, load_recipe
    from mmedc.sample.build import ensure_inputs

    (tmp_path / "pipelines").mkdir()
    shutil.copy(ROOT / "pipelines" / "sample.toml", tmp_path / "pipelines" / "sample.toml")
    recipe = load_recipe(tmp_path / "pipelines" / "sample.toml")
    with pytest.raises(RecipeError, match=r"does not exist \(from its paths = 'sample/generated/corpus.jsonl'"):
        recipe.source_files(recipe.sources[0])
    assert ensure_inputs(recipe) is None  # not the embedded sample's folder
    monkeypatch.setattr(mmedc.paths, "pipelines_dir", lambda: tmp_path / "pipelines")
    assert ensure_inputs(recipe) == tmp_path / "pipelines" / "sample" / "generated"
    assert all(recipe.source_files(s) for s in recipe.sources)
    assert ensure_inputs(recipe) is None  # nothing missing any more


def test_ray_chatter_goes_to_the_log(tmp_path, capfd):
    from mmedc.quiet import ray_output_to

    log = tmp_path / "ray.log"
    with ray_output_to(log):
        print("\x1b[36m(PlacementGroupCleaner pid=7)\x1b[0m Failed to query Ray Train Controller", file=sys.stderr)
        print("(pid=9) task chatter")
        sys.stderr.write("\r(pid=9) train tiny-llama: 40%")  # a progress bar redraw stays on the terminal
        print("mmedc progress", file=sys.stderr)
        os.write(2, b"core_worker.cc:2465: an error from C++\n")
    cap = capfd.readouterr()
    assert "mmedc progress" in cap.err and "train tiny-llama: 40%" in cap.err
    assert "PlacementGroupCleaner" not in cap.err + cap.out and "core_worker" not in cap.err and "chatter" not in cap.out
    kept = log.read_text()
    assert "Failed to query" in kept and "task chatter" in kept and "core_worker.cc" in kept
    with pytest.raises(RuntimeError):
        with ray_output_to(log):
            print("(TrainController pid=3) the worker's real error", file=sys.stderr)
            raise RuntimeError("training failed")
    cap = capfd.readouterr()
    assert "the worker's real error" in cap.err and "Failed to query" not in cap.err  # this run's lines only
