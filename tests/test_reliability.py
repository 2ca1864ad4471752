"""Crash-safe, verifiable runs: killed Ray workers and a lost node are retried, a failed run resumes,
always with byte-identical output; and two runs of the same recipe give identical files."""
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
def faulty_cluster(tmp_path):
    """Its own ray.cluster_utils.Cluster (a head that runs no tasks, two 1-CPU worker nodes) whose
    processes inherit MMEDC_FAULTS; the session's embedded Ray started without it."""
    import ray
    from ray.cluster_utils import Cluster

    plan = tmp_path / "faults.json"
    plan.write_text("{}")
    ray.shutdown()
    os.environ[ENV] = str(plan)
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    victim = cluster.add_node(num_cpus=1)
    cluster.add_node(num_cpus=1)
    try:
        cluster.wait_for_nodes()
        yield cluster, victim, plan
    finally:
        ray.shutdown()
        cluster.shutdown()
        os.environ.pop(ENV, None)


def kills(plan: Path) -> dict[str, int]:
    return {p.name[len(plan.name) + 1:-len(".count")]: int(p.read_text()) for p in plan.parent.glob(f"{plan.name}.*.count")}


@pytest.mark.slow
def test_killed_workers_and_a_lost_node(sample_inputs, sample_run, faulty_cluster, tmp_path):
    import threading

    from mmedc.config import load_recipe
    from mmedc.engine.runner import RunError, run

    cluster, victim, plan = faulty_cluster
    recipe = load_recipe(sample_inputs)
    out = tmp_path / "out"
    ingested = out / "work" / "done" / "filter"
    # 1. Mid-run, worker processes die (os._exit after a task's outputs are written, before its
    #    marker) and a whole node is removed without warning: Ray retries the tasks elsewhere.
    plan.write_text(json.dumps({"kill": [{"stage": "filter", "shard": "corpus-00000", "times": 1},
                                         {"stage": "finalize", "shard": "corpus-00001", "times": 1}]}))
    lost: dict = {}
    stop = threading.Event()

    def remove_node_mid_run():
        while not lost and not stop.is_set():
            if ingested.is_dir() and len(list(ingested.glob("*.json"))) >= 2:
                cluster.remove_node(victim, allow_graceful=False)
                lost["ingested"] = len(list(ingested.glob("*.json")))
            stop.wait(0.1)

    killer = threading.Thread(target=remove_node_mid_run, daemon=True)
    killer.start()
    try:
        run(recipe, out, ray_address=cluster.address, progress=False)
    finally:
        stop.set()
        killer.join()
    assert kills(plan) == {"filter.corpus-00000": 1, "finalize.corpus-00001": 1}
    assert lost and lost["ingested"] < len(list(ingested.glob("*.json")))  # the node died before the run ended
    assert_identical(sample_run, out)
    assert check(out).ok

    # 2. A task dies more often than Ray retries it: the run fails, `audit check` says it is unfinished,
    #    and re-running the same command finishes it with the same output.
    for p in plan.parent.glob(f"{plan.name}.*.count"):
        p.unlink()
    (out / "work" / "done" / "filter" / "corpus-00002.json").unlink()  # its filter task is redone
    plan.write_text(json.dumps({"kill": [{"stage": "filter", "shard": "corpus-00002", "times": 4}]}))
    with pytest.raises(RunError, match="failed after retries"):
        run(recipe, out, ray_address=cluster.address, progress=False)
    assert kills(plan) == {"filter.corpus-00002": 4}  # the first try and max_retries=3
    assert not check(out).ok
    run(recipe, out, ray_address=cluster.address, progress=False)  # the kill budget is spent: it goes through
    assert_identical(sample_run, out)
    res = check(out)
    assert res.ok, res.violations
