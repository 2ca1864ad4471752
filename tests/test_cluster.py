"""The pipeline on a multi-node Ray cluster (ray.cluster_utils.Cluster): tasks run on several nodes."""
import json

import pytest


@pytest.mark.slow
def test_pipeline_on_two_node_cluster(sample_inputs, tmp_path):
    import ray
    from ray.cluster_utils import Cluster

    from mmedc.config import load_recipe
    from mmedc.engine.runner import run

    ray.shutdown()  # leave the session's embedded Ray; this test joins its own cluster
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    try:
        out = tmp_path / "out"
        res = run(load_recipe(sample_inputs), out, ray_address=cluster.address, progress=False)
        nodes = {json.loads(p.read_text())["node"] for p in (out / "work" / "done").rglob("*.json")
                 if json.loads(p.read_text()).get("node")}
        assert len(nodes) >= 2, nodes
        assert res.manifest["totals"]["docs"] > 0
    finally:
        ray.shutdown()
        cluster.shutdown()
