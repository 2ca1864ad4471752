"""`mmedc audit` on a pipeline run of the sample: summary, explain, sample, diff, check."""
import json
import shutil

import polars as pl
import pyarrow.parquet as pq
import pytest

from mmedc.audit import query
from mmedc.audit.check import check



def cli(*args):
    """`mmedc audit ARGS` in-process (the real typer app; no interpreter start per call)."""
    from typer.testing import CliRunner

    from mmedc.cli import app

    res = CliRunner().invoke(app, ["audit", *map(str, args)], catch_exceptions=False)
    res.returncode = res.exit_code
    return res


@pytest.fixture()
def run_copy(sample_run, tmp_path):
    """A private copy of the sample run, for tests that damage it."""
    dest = tmp_path / "run"
    shutil.copytree(sample_run, dest)
    return dest


def test_step_order_comes_from_the_run(sample_run):
    steps = query.step_order(sample_run)
    assert steps[0] == "ingest" and steps[-1] == "tokenize"
    # The recipe's chain, in the order it ran (the default: the cheap medical scan before LID).
    assert steps[1:6] == ["medical", "langid", "quality", "pii", "decontam"]
    assert set(steps) == {p.name for p in (sample_run / "audit").iterdir()}


def test_summary_counts_and_reasons(sample_run):
    by_step = query.summary(sample_run, by=("step",))
    rows = {r["step"]: r for r in by_step.iter_rows(named=True)}
    for r in rows.values():
        assert r["in"] == r["kept"] + r["dropped"] + r["failed"]
    assert rows["ingest"]["in"] == pl.read_parquet(str(sample_run / "audit" / "ingest" / "*.parquet")).height
    assert rows["ingest"]["failed"] >= 3 and "invalid_json" in rows["ingest"]["top_reasons"]
    assert rows["medical"]["dropped"] >= 7 and rows["medical"]["top_reasons"].startswith("not_medical")
    assert "duplicate_" in rows["dedup"]["top_reasons"]
    # Per shard × step × language: ingest rows get their document's language from language ID.
    full = query.summary(sample_run)
    assert {"shard", "step", "lang", "in", "kept", "dropped", "failed", "top_reasons"} <= set(full.columns)
    ing = full.filter(step="ingest")
    assert {"en", "zh", "ja", "fr", "ru", "es"} <= set(ing["lang"])
    assert ing.filter(lang=query.NO_LANG)["failed"].sum() >= 3  # never reached language ID
    assert full["in"].sum() == by_step["in"].sum()


def test_summary_cli_json_and_filters(sample_run):
    res = cli("summary", sample_run, "--json", "--step", "medical", "--by", "shard,step")
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    assert rows and {r["step"] for r in rows} == {"medical"}
    assert sum(r["dropped"] for r in rows) == query.summary(sample_run, by=("step",)).filter(step="medical")["dropped"][0]
    bad = cli("summary", sample_run, "--by", "colour")
    assert bad.returncode != 0 and "cannot group by" in bad.stderr


def test_explain_follows_a_document(sample_run):
    df = query.explain(sample_run, "corpus:fr-grippe-copy")
    assert df["step"].to_list()[0] == "ingest" and df["step"].to_list()[-1] == "dedup"
    last = df.row(-1, named=True)
    assert last["decision"] == "dropped" and last["reason"].startswith("duplicate_exact")
    assert last["cluster"] == "corpus:fr-grippe"
    res = cli("explain", sample_run, "corpus:fr-grippe-copy", "--json")
    rows = json.loads(res.stdout)
    assert [r["step"] for r in rows] == df["step"].to_list()
    med = next(r for r in rows if r["step"] == "medical")
    assert med["scores"]["medical_hits"] > 0 and "medical_density" in med["scores"]
    missing = cli("explain", sample_run, "no-such-id")
    assert missing.returncode == 1 and "no audit row" in missing.stderr


def test_sample_with_text_filters_and_sort(sample_run):
    df = query.sample(sample_run, "medical", "dropped", reason="not_medical", n=3)
    assert df.height == 3 and set(df["decision"]) == {"dropped"}
    assert df["text"].null_count() == 0 and all(len(t) > 50 for t in df["text"])
    # --where is SQL over audit columns; --sort gives the ones closest to passing first.
    near = query.sample(sample_run, "medical", where="medical_density > 0", sort="medical_density", descending=True, n=50)
    assert (near["medical_density"] > 0).all()
    assert near["medical_density"].to_list() == sorted(near["medical_density"].to_list(), reverse=True)
    res = cli("sample", sample_run, "--step", "ingest", "--decision", "failed", "--json")
    rows = json.loads(res.stdout)
    assert len(rows) >= 3 and all(r["text"] is None and r["reason"] for r in rows)
    res = cli("sample", sample_run, "--step", "medical", "--decision", "dropped", "-n", "2", "--chars", "80")
    assert res.returncode == 0 and "not_medical" in res.stdout
    bad = cli("sample", sample_run, "--step", "medical", "--where", "medical_density >")
    assert bad.returncode == 2 and "bad --where" in bad.stderr


def test_diff_between_runs(sample_run, run_copy):
    counts, changes = query.diff(sample_run, sample_run)
    deltas = [c for c in counts.columns if c.endswith("_delta")]
    assert changes.is_empty() and len(deltas) == 3 and all((counts[c] == 0).all() for c in deltas)
    assert "no differences" in cli("diff", sample_run, sample_run).stdout
    # Run B kept one document that run A's medical filter dropped.
    f = next(p for p in (run_copy / "audit" / "medical").glob("*.parquet")
             if "dropped" in pq.read_table(p)["decision"].to_pylist())
    t = pl.read_parquet(f)
    flipped = t.filter(decision="dropped")["id"][0]
    t = t.with_columns(pl.when(pl.col("id") == flipped).then(pl.lit("kept")).otherwise("decision").alias("decision"))
    t.write_parquet(f)
    counts, changes = query.diff(sample_run, run_copy)
    assert changes.select("step", "id", "a", "b").rows() == [("medical", flipped, "dropped", "kept")]
    med = counts.filter(step="medical", kept_delta=1)
    assert med.height == 1 and med["dropped_delta"][0] == -1
    out = json.loads(cli("diff", sample_run, run_copy, "--json").stdout)
    assert out["changed_documents"] == 1 and out["changes"][0]["id"] == flipped


def test_check_passes_on_a_run(sample_run):
    res = check(sample_run)
    assert res.ok, res.violations
    assert res.checked["steps"] >= 5 and res.checked["manifest_shards"] >= 1
    out = cli("check", sample_run)
    assert out.returncode == 0 and "passed" in out.stdout


def test_check_finds_a_changed_shard(run_copy):
    shard = sorted((run_copy / "shards").glob("*.parquet"))[0]
    t = pq.read_table(shard)
    pq.write_table(t.slice(1), shard)  # one document lost after the manifest was written
    res = cli("check", run_copy, "--json")
    assert res.returncode == 1
    v = " ".join(json.loads(res.stdout)["violations"])
    assert "sha256" in v and "rows" in v and "in no shard" in v


def test_check_finds_a_lost_audit_row_and_a_contradiction(run_copy):
    f = run_copy / "audit" / "medical" / "corpus-00000.parquet"
    t = pl.read_parquet(f)
    t.slice(1).write_parquet(f)  # a document vanished at the medical step
    res = check(run_copy)
    assert not res.ok
    assert any("conservation: shard corpus-00000 step medical" in v for v in res.violations)
    assert any(v.startswith("marker filter/corpus-00000.json") for v in res.violations)
    # A document kept at the end, but also recorded as dropped at an earlier step.
    kept = pl.read_parquet(run_copy / "audit" / "tokenize" / "corpus-00000.parquet")["id"][0]
    lf = run_copy / "audit" / "langid" / "corpus-00000.parquet"
    lt = pl.read_parquet(lf)
    lt.with_columns(pl.when(pl.col("id") == kept).then(pl.lit("dropped")).otherwise("decision").alias("decision")).write_parquet(lf)
    res = check(run_copy)
    assert any(f"id {kept} is kept at the end but dropped at step langid" in v for v in res.violations)


def test_check_finds_an_unfinished_run(run_copy):
    (run_copy / "work" / "done" / "finalize" / "web-00000.json").unlink()
    res = check(run_copy)
    assert any("stage finalize: no completion marker" in v for v in res.violations)


def test_check_finds_a_duplicate_of_itself(run_copy):
    if not (run_copy / "work" / "dedup" / "index").exists():
        pytest.skip("this dedup keeps no run-local index")
    f = next(p for p in (run_copy / "audit" / "dedup").glob("*.parquet")
             if "dropped" in pq.read_table(p)["decision"].to_pylist())
    t = pl.read_parquet(f)
    dup = t.filter(decision="dropped")["id"][0]
    t.with_columns(pl.when(pl.col("id") == dup).then(pl.col("id")).otherwise("cluster").alias("cluster")).write_parquet(f)
    res = check(run_copy)
    assert f"id {dup} dropped at step dedup as a duplicate of itself" in res.violations
