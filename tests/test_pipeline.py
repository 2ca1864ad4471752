"""The whole sample pipeline on Ray: output contract, conservation, failures recorded, resume."""
import hashlib
import json
import subprocess
import sys

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mmedc.paths import ROOT


def audit(out):
    return pl.read_parquet(str(out / "audit" / "**" / "*.parquet"))


def test_shards_follow_the_contract(sample_run):
    manifest = json.loads((sample_run / "manifest.json").read_text())
    eos = manifest["tokenizer"]["eos_id"]
    assert manifest["tokenizer"]["vocab_size"] == 128256
    assert manifest["shards"]
    for s in manifest["shards"]:
        path = sample_run / s["file"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == s["sha256"]
        t = pq.read_table(path)
        assert t.schema.field("input_ids").type == pa.list_(pa.int32())
        assert t.schema.field("n_tokens").type == pa.int32()
        assert {"id", "lang", "source"} <= set(t.schema.names)
        assert t.num_rows == s["rows"] and sum(t["n_tokens"].to_pylist()) == s["tokens"]
        for ids, n in zip(t["input_ids"].to_pylist(), t["n_tokens"].to_pylist()):
            assert ids[-1] == eos and len(ids) == n
    df = pl.read_parquet(str(sample_run / "shards" / "*.parquet"))
    assert df.height == manifest["totals"]["docs"]
    # Every language of the sample reaches the shards, and sources of every kind.
    assert set(manifest["totals"]["by_lang"]) == {"en", "zh", "ja", "fr", "ru", "es"}
    assert set(manifest["totals"]["by_source"]) == {"corpus", "exams", "pages", "web", "books"}


def test_shards_load_with_datasets(sample_run):
    datasets = pytest.importorskip("datasets")
    ds = datasets.load_dataset("parquet", data_files=str(sample_run / "shards" / "*.parquet"), split="train")
    assert len(ds) > 0 and ds[0]["input_ids"][-1] == json.loads((sample_run / "manifest.json").read_text())["tokenizer"]["eos_id"]


def test_conservation_per_shard_and_step(sample_run):
    a = audit(sample_run)
    order = ["ingest", "medical", "langid", "quality", "pii", "decontam", "dedup", "tokenize"]
    counts = a.group_by("shard", "step", "decision").len()
    # Output shards are mixed across input shards: their first copies are exactly the tokenize-kept documents.
    out = pl.read_parquet(str(sample_run / "shards" / "*.parquet")).filter(copy=0)
    assert sorted(out["id"]) == sorted(a.filter(step="tokenize", decision="kept")["id"])
    for shard in a["shard"].unique():
        prev_kept = None
        for step in order:
            c = {r["decision"]: r["len"] for r in counts.filter(shard=shard, step=step).iter_rows(named=True)}
            total = sum(c.values())
            if prev_kept is not None:
                assert total == prev_kept, (shard, step)  # in = kept + dropped + failed
            prev_kept = c.get("kept", 0)


def test_every_decision_recorded_with_reason(sample_run):
    a = audit(sample_run)
    assert a.filter(pl.col("decision") != "kept", pl.col("reason").is_null()).height == 0
    # The damaged sample file: bad JSON line and truncated gzip are failed rows; the run completed.
    failed = a.filter(decision="failed")
    reasons = " ".join(failed["reason"].to_list())
    assert "invalid_json" in reasons and "EOFError" in reasons
    # Non-medical documents dropped by the medical step, with their scores.
    med = a.filter(step="medical", decision="dropped")
    assert med.height >= 7 and med["medical_density"].null_count() == 0
    dup = a.filter(step="dedup", decision="dropped")
    assert set(dup["id"]) >= {"corpus:fr-grippe-copy", "corpus:en-diabetes-near", "corpus:zh-hypertension-near"}
    # The scanned PDF page went through OCR.
    book = a.filter(step="ingest", source="books").row(0, named=True)
    assert json.loads(book["detail"])["ocr_pages"] == 1
    # Web pages record how they were decoded.
    page = a.filter(step="ingest", source="web", decision="kept").row(0, named=True)
    assert json.loads(page["detail"])["encoding"]


def test_rerun_skips_and_resumes_identically(sample_inputs, sample_run, tmp_path, ray_local):
    from mmedc.config import load_recipe
    from mmedc.engine.runner import run

    recipe = load_recipe(sample_inputs)
    before = {p.name: p.read_bytes() for p in (sample_run / "shards").glob("*.parquet")}
    res = run(recipe, sample_run, progress=False)
    assert res.skipped_tasks > 0
    # Simulate a crash that lost one shard's finalize output and marker: the re-run redoes only that.
    (sample_run / "work" / "done" / "finalize" / "corpus-00000.json").unlink()
    (sample_run / "work" / "tokenized" / "corpus-00000.parquet").unlink()
    run(recipe, sample_run, progress=False)
    after = {p.name: p.read_bytes() for p in (sample_run / "shards").glob("*.parquet")}
    assert before == after


def test_changed_recipe_is_refused(sample_inputs, sample_run, tmp_path, ray_local):
    from mmedc.config import load_recipe
    from mmedc.engine.runner import RunError, run

    recipe = load_recipe(sample_inputs)
    recipe.dedup.threshold = 0.5
    with pytest.raises(RunError, match="--restart"):
        run(recipe, sample_run, progress=False)


def test_cli_help_and_errors(tmp_path):
    mmedc = [sys.executable, "-m", "mmedc.cli"]
    out = subprocess.run(mmedc + ["run", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "--ray-address" in out.stdout and "--workers" in out.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text('[pipeline]\nlanguages=["en"]\n[[sources]]\nname="x"\nkind="jsonl"\npaths=["nope.jsonl"]\nfoo=1\n')
    out = subprocess.run(mmedc + ["run", str(bad), "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert out.returncode != 0 and "unknown key" in out.stderr


def test_copied_run_folder_resumes_identically(sample_inputs, sample_run, tmp_path, ray_local):
    """A run folder moved elsewhere and resumed (one shard's filter redone) gives the same shards."""
    import shutil

    from mmedc.config import load_recipe
    from mmedc.engine.runner import run

    moved = tmp_path / "moved"
    shutil.copytree(sample_run, moved)
    (moved / "work" / "done" / "filter" / "corpus-00000.json").unlink()
    run(load_recipe(sample_inputs), moved, progress=False)
    before = {p.name: p.read_bytes() for p in (sample_run / "shards").glob("*.parquet")}
    after = {p.name: p.read_bytes() for p in (moved / "shards").glob("*.parquet")}
    assert before and before == after
