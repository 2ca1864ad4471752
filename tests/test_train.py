"""The pretraining stage on Ray Train, on CPU: a tiny Llama learns the sample shards, two gloo workers
train together, held-out loss per language is logged, and --resume continues exactly (same next batch,
same loss) across an epoch boundary of the seeded reshuffle."""
import json
import re
import shutil
import subprocess
import sys

import pytest

# Small and fast: 2-layer Llama, 4 sequences of 32 tokens per step. val_fraction 0.36 holds out one
# document each of en, ja and ru (by id hash); the rest is ~19 steps per epoch.
HP = {"seq_len": 32, "micro_batch": 2, "lr": 1e-2, "checkpoint_every": 8, "val_fraction": 0.36, "eval_every": 8}
# The single-worker runs take the GPU path's logic: FSDP2 sharding (on a 1-rank mesh), sharded DCP
# checkpoints, activation checkpointing; the two-worker run takes the CPU default, DDP.
GPU_LOGIC = {"strategy": "fsdp", "activation_checkpointing": True}


@pytest.fixture(scope="module")
def one_worker(sample_run, tmp_path_factory):
    """24 steps on one worker (2 micro-batches of 2 per step; the sample is ~22 steps), checkpoints at 8, 16, 24."""
    from mmedc.executor.ray_executor import start as init_ray
    from mmedc.train.launch import train

    init_ray(None, 2)
    out = tmp_path_factory.mktemp("train") / "one"
    return train(sample_run, "tiny-llama", out, steps=24, workers=1, overrides={**HP, "grad_accum": 2}, progress=False,
                 **GPU_LOGIC)


def test_tiny_llama_lowers_its_loss(one_worker):
    losses = [m["loss"] for m in one_worker.metrics]
    assert [m["step"] for m in one_worker.metrics] == list(range(1, 25))
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5 - 1.0  # from ~ln(128256) ≈ 11.8, clearly down
    assert all(m["tokens_per_s"] > 0 for m in one_worker.metrics)
    ckpts = sorted(p.name for p in (one_worker.out / "checkpoints" / "run-001").glob("step-*"))
    assert ckpts == ["step-000016", "step-000024"]  # --keep 2
    state = json.loads((one_worker.out / "checkpoints" / "run-001" / "step-000024" / "trainer_state.json").read_text())
    assert state["step"] == 24 and state["data"]["next_sequence"] == 24 * 4 and "scheduler" in state


def test_held_out_loss_per_language(one_worker):
    """metrics.jsonl has the held-out loss of en, ja and ru at step 0, every eval_every steps and at the end,
    and it falls; validation.json says what was held out."""
    val = one_worker.validation
    held = json.loads((one_worker.out / "validation.json").read_text())
    langs = sorted(held)  # which documents are held out depends on their ids' hashes
    assert len(langs) >= 2 and all(v["held_out_docs"] >= 1 for v in held.values())
    assert [r["step"] for r in val] == [0, 8, 16, 24]
    assert all(sorted(r["val_loss"]) == langs for r in val)
    for lang in langs:
        assert val[-1]["val_loss"][lang] < val[0]["val_loss"][lang] - 0.5
    rows = [json.loads(line) for line in (one_worker.out / "metrics.jsonl").read_text().splitlines()]
    assert rows[0]["step"] == 0 and "loss" not in rows[0]
    assert rows[8]["val_loss"] == val[1]["val_loss"] and "val_loss" not in rows[7]


def test_resume_gives_the_same_next_batches_and_losses(one_worker, sample_run, tmp_path, ray_local):
    from mmedc.train.launch import TrainError, latest_checkpoint, train

    out = tmp_path / "resumed"
    shutil.copytree(one_worker.out, out)
    shutil.rmtree(out / "checkpoints" / "run-001" / "step-000024")  # as if it had stopped after the step-16 checkpoint
    with pytest.raises(TrainError, match="--resume"):
        train(sample_run, "tiny-llama", out, steps=24, overrides={**HP, "grad_accum": 2}, progress=False)
    res = train(sample_run, "tiny-llama", out, steps=24, resume=True,
                overrides={**HP, "grad_accum": 2}, progress=False, **GPU_LOGIC)
    assert [m["step"] for m in res.metrics] == list(range(17, 25))
    assert {m["epoch"] for m in res.metrics} == {0, 1}  # the resumed steps cross into the reshuffled epoch 1
    ref = {m["step"]: m for m in one_worker.metrics}
    for m in res.metrics:
        assert m["batch_sha1"] == ref[m["step"]]["batch_sha1"]
        assert m["loss"] == ref[m["step"]]["loss"]  # bit for bit
    assert res.validation[-1]["val_loss"] == one_worker.validation[-1]["val_loss"]
    # metrics.jsonl holds one row per step (and step 0's evaluation): the interrupted run's rows are gone.
    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert steps == list(range(0, 25))
    assert latest_checkpoint(out).relative_to(out).as_posix() == "checkpoints/run-002/step-000024"


def test_two_gloo_workers_train_together(one_worker, sample_run, tmp_path, ray_local):
    """2 workers × 1 micro-batch average their gradients (DDP over gloo) into the very update one worker
    makes from the same 2 micro-batches: the losses agree step after step."""
    from mmedc.train.launch import train

    res = train(sample_run, "tiny-llama", tmp_path / "two", steps=24, workers=2, stop_after=3,
                overrides={**HP, "grad_accum": 1}, progress=False)
    assert [m["step"] for m in res.metrics] == [1, 2, 3]
    for m, ref in zip(res.metrics, one_worker.metrics):
        assert m["loss"] == pytest.approx(ref["loss"], abs=1e-4)


def test_train_cli_help_and_errors(tmp_path):
    mmedc = [sys.executable, "-m", "mmedc.cli"]
    out = subprocess.run(mmedc + ["train", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "--resume" in out.stdout and "--device" in out.stdout
    out = subprocess.run(mmedc + ["train", "--shards", str(tmp_path), "--out", str(tmp_path / "o")],
                         capture_output=True, text=True)
    assert out.returncode == 1 and "manifest.json" in out.stderr
    out = subprocess.run(mmedc + ["train", "export", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "--dtype" in out.stdout
    out = subprocess.run(mmedc + ["train", "export", str(tmp_path), "--out", str(tmp_path / "hf")],
                         capture_output=True, text=True)
    assert out.returncode == 1 and "not a checkpoint" in out.stderr


def test_train_cli_prints_held_out_loss_and_exports(sample_run, tmp_path, ray_local):
    from typer.testing import CliRunner

    from mmedc.cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["train", "--shards", str(sample_run), "--steps", "2", "--seq-len", "32", "--micro-batch", "2",
                              "--val-fraction", "0.36", "--out", str(tmp_path / "t"), "-q"])
    assert res.exit_code == 0, res.output
    assert "held-out loss per language" in res.output
    langs = sorted(json.loads((tmp_path / "t" / "validation.json").read_text()))
    assert re.search(r"┃ +" + r" ┃ +".join(langs) + r" ┃", res.output) and re.search(r"│ +2 │ +\d+\.\d{4} │", res.output)
    res = runner.invoke(app, ["train", "export", str(tmp_path / "t"), "--out", str(tmp_path / "hf"), "--dtype", "bfloat16"])
    assert res.exit_code == 0, res.output
    config = json.loads((tmp_path / "hf" / "config.json").read_text())
    assert config["dtype"] == "bfloat16" and (tmp_path / "hf" / "README.md").exists()
