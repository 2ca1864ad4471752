"""Crash-safe, verifiable runs: killed Ray workers are retried or resumed with byte-identical output,
and two runs of the same recipe give identical files."""
import json
import os
from pathlib import Path

import pytest

from mmedc.audit.check import check
from mmedc.engine.faults import ENV


def outputs(out: Path) -> dict[str, bytes]:
    """Every file a user consumes: shards, manifest, audit."""
    files = [out / "manifest.json", *sorted((out / "shards").glob("*.parquet")), *sorted((out / "audit").rglob("*.parquet"))]
    return {str(f.relative_to(out)): f.read_bytes() for f in files}


def assert_identical(a: Path, b: Path):
    fa, fb = outputs(a), outputs(b)
    assert sorted(fa) == sorted(fb)
    differ = [k for k in fa if fa[k] != fb[k]]
    assert not differ, f"files differ: {differ}"


def test_two_runs_give_identical_output(sample_inputs, sample_run, ray_local, tmp_path):
    from mmedc.config import load_recipe
    from mmedc.engine.runner import run

    out = tmp_path / "again"
    run(load_recipe(sample_inputs), out, progress=False)
    assert_identical(sample_run, out)
    assert check(out).ok


@pytest.fixture()
def faulty_ray(tmp_path):
    """Its own embedded Ray whose workers inherit MMEDC_FAULTS (the session's Ray started without it)."""
    import ray

    from mmedc.engine.ray_runtime import init_ray

    plan = tmp_path / "faults.json"
    plan.write_text("{}")
    ray.shutdown()
    os.environ[ENV] = str(plan)
    init_ray(None, 2)
    try:
        yield plan
    finally:
        ray.shutdown()
        os.environ.pop(ENV, None)


def kills(plan: Path) -> dict[str, int]:
    return {p.name[len(plan.name) + 1:-len(".count")]: int(p.read_text()) for p in plan.parent.glob(f"{plan.name}.*.count")}


@pytest.mark.slow
def test_killed_workers_are_retried_and_resumed(sample_inputs, sample_run, faulty_ray, tmp_path):
    from mmedc.config import load_recipe
    from mmedc.engine.runner import RunError, run

    recipe = load_recipe(sample_inputs)
    # 1. Workers die mid-run (outputs written, marker not yet): Ray retries the tasks in new workers.
    faulty_ray.write_text(json.dumps({"kill": [{"stage": "filter", "shard": "corpus-00000", "times": 1},
                                               {"stage": "finalize", "shard": "corpus-00001", "times": 1}]}))
    out = tmp_path / "retried"
    run(recipe, out, progress=False)
    assert kills(faulty_ray) == {"filter.corpus-00000": 1, "finalize.corpus-00001": 1}
    assert_identical(sample_run, out)
    assert check(out).ok

    # 2. A task dies more often than Ray retries it: the run fails, `audit check` says it is unfinished,
    #    and re-running the same command finishes it with the same output.
    #    (The same folder: a run folder is resumed where it was made.)
    for p in faulty_ray.parent.glob("faults.json.*.count"):
        p.unlink()
    (out / "work" / "done" / "filter" / "corpus-00002.json").unlink()  # its filter task is redone
    faulty_ray.write_text(json.dumps({"kill": [{"stage": "filter", "shard": "corpus-00002", "times": 4}]}))
    with pytest.raises(RunError, match="failed after retries"):
        run(recipe, out, progress=False)
    assert kills(faulty_ray) == {"filter.corpus-00002": 4}  # the first try and max_retries=3
    assert not check(out).ok
    run(recipe, out, progress=False)  # the kill budget is spent: this run goes through
    assert_identical(sample_run, out)
    res = check(out)
    assert res.ok, res.violations
