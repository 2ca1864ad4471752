"""Driver side of `mmedc train`: checks the inputs, finds the checkpoint to resume, runs Ray Train's
TorchTrainer (1 CPU worker, N CPU workers over gloo, or N GPUs over NCCL) and returns the metrics."""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from mmedc.core import storage
from mmedc.train.loop import STATE_FILE


class TrainError(RuntimeError):
    pass


@dataclass
class TrainResult:
    out: Path
    metrics: list[dict]  # one row per step of this run (metrics.jsonl)
    checkpoint: str | None
    validation: list[dict] = field(default_factory=list)  # rows with val_loss: step 0 (fresh runs) and evaluated steps


def checkpoints(out: Path) -> list[Path]:
    """Complete checkpoints (trainer_state.json is written last) under OUT/checkpoints/run-*/, oldest step first.

    Each invocation is its own Ray Train run (`run-NNN`): Ray's run snapshot then never refers to a
    checkpoint that was pruned or removed by hand; which checkpoint to resume is decided here."""
    done = [p.parent for p in (out / "checkpoints").glob(f"run-*/step-*/{STATE_FILE}")]
    return sorted(done, key=lambda p: (int(p.name.split("-")[1]), p.parent.name))


def latest_checkpoint(out: Path) -> Path | None:
    found = checkpoints(out)
    return found[-1] if found else None


def prune(out: Path, keep: int):
    for p in checkpoints(out)[:-keep]:
        shutil.rmtree(p, ignore_errors=True)


def read_metrics(out: Path, name: str = "metrics.jsonl") -> list[dict]:
    p = out / name
    return [json.loads(line) for line in p.read_text().splitlines() if line.strip()] if p.exists() else []


def hyper_parameters(spec_train: dict, preset: str | None, overrides: dict | None, workers: int) -> dict:
    """Defaults < the model spec's `train` block < the preset's < options given. A `global_batch` (in
    sequences) sets grad_accum = global_batch / (micro_batch × workers) unless --grad-accum is given."""
    from mmedc.train.model import CONFIGS, ModelError

    hp = dict(spec_train)
    if preset:
        p = CONFIGS / f"{preset}.json" if (CONFIGS / f"{preset}.json").exists() else Path(preset).expanduser()
        if not p.is_file():
            names = sorted(f.stem for f in CONFIGS.glob("*.json"))
            raise ModelError(f"--preset {preset}: not a preset ({', '.join(names)}) or a JSON file")
        hp.update(json.loads(p.read_text()).get("train", {}))
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    hp.update(given)
    gb = hp.pop("global_batch", None)
    if gb and "grad_accum" not in given:
        per_pass = hp["micro_batch"] * workers
        if gb % per_pass:
            raise TrainError(f"global batch {gb} sequences is not a multiple of micro-batch {hp['micro_batch']} × "
                             f"{workers} workers: give --micro-batch or --grad-accum")
        hp["grad_accum"] = gb // per_pass
    return hp


def train(shards: str | Path, model: str, out: str | Path, steps: int, device: str = "cpu", workers: int = 1,
          resume: bool = False, stop_after: int | None = None, overrides: dict | None = None, seed: int = 0,
          strategy: str | None = None, log_every: int = 10, keep: int = 2, ray_address: str | None = None,
          progress: bool = True, activation_checkpointing: bool | None = None, preset: str | None = None,
          eval_only: bool = False, final_checkpoint: bool = True) -> TrainResult:
    """Run (or continue) a training run; `eval_only` loads the model (or the --resume checkpoint) and writes
    the per-language validation loss to OUT/eval.jsonl without training."""
    from mmedc.core.files import atomic_write_json
    from mmedc.train.data import PackedSequences, load_shards
    from mmedc.train.model import check_tokenizer, resolve_model

    if device not in ("cpu", "cuda"):
        raise TrainError(f"--device {device}: cpu or cuda")
    strategy = strategy or ("fsdp" if device == "cuda" else "ddp")
    if strategy not in ("ddp", "fsdp"):
        raise TrainError(f"--strategy {strategy}: ddp or fsdp")
    # Fail fast, before Ray starts: shards, model spec, hyper-parameters.
    shard_set = load_shards(shards)
    spec = resolve_model(model)
    check_tokenizer(spec, shard_set.manifest["tokenizer"])
    hp = hyper_parameters(spec.train, preset, overrides, workers)
    PackedSequences(shard_set, hp["seq_len"], hp.get("val_fraction", 0.0))
    out = Path(out).expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    ckpt = latest_checkpoint(out)
    if ckpt is not None and not resume and not eval_only:
        raise TrainError(f"{out} already holds checkpoints (latest {ckpt.name}): pass --resume to continue, "
                         "or use another --out")
    if resume and ckpt is None:
        raise TrainError(f"--resume: no checkpoint in {out / 'checkpoints'}")
    first = json.loads((ckpt / STATE_FILE).read_text())["step"] if ckpt else 0
    if first >= steps and not eval_only:
        raise TrainError(f"the checkpoint is at step {first}: nothing left to do for --steps {steps}")
    cfg = {"shards": str(storage.resolve(shards)), "model": model, "out": str(out), "device": device,
           "strategy": strategy, "steps": steps, "stop_after": stop_after, "seed": seed, "train": hp,
           "log_every": log_every, "threads": 1, "progress": progress,
           "activation_checkpointing": device == "cuda" if activation_checkpointing is None else activation_checkpointing,
           "resume_from": str(ckpt) if ckpt and (resume or not eval_only) else None, "preset": preset,
           "eval_only": eval_only, "final_checkpoint": final_checkpoint}
    if eval_only:
        (out / "eval.jsonl").unlink(missing_ok=True)
    else:
        atomic_write_json(cfg, out / "train_config.json")  # what this (latest) invocation ran with
        # Steps of this run only: drop rows a crashed run logged after its last checkpoint.
        metrics_file = out / "metrics.jsonl"
        kept = [m for m in read_metrics(out) if m["step"] <= first]
        metrics_file.write_text("".join(json.dumps(m) + "\n" for m in kept))

    import ray
    from ray.train import CheckpointConfig, FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer

    from mmedc.executor.ray_executor import start as init_ray
    from mmedc.train.loop import train_loop

    runs = list((out / "checkpoints").glob("run-*"))
    started = init_ray(ray_address, None if ray_address else max(workers, os.cpu_count() or 1))
    try:
        trainer = TorchTrainer(
            train_loop, train_loop_config=cfg,
            torch_config=TorchConfig(backend="nccl" if device == "cuda" else "gloo"),
            scaling_config=ScalingConfig(num_workers=workers, use_gpu=device == "cuda",
                                         resources_per_worker={"CPU": 1, **({"GPU": 1} if device == "cuda" else {})}),
            run_config=RunConfig(storage_path=str(out / "checkpoints"), name=f"run-{len(runs) + 1:03d}",
                                 checkpoint_config=CheckpointConfig(num_to_keep=keep),
                                 failure_config=FailureConfig(max_failures=0)),
        )
        result = trainer.fit()
    except Exception as e:  # noqa: BLE001 - surfaced with the worker's message
        raise TrainError(f"training failed: {e}") from e
    finally:
        if started:
            ray.shutdown()
    if eval_only:
        rows = read_metrics(out, "eval.jsonl")
        return TrainResult(out, [], None, rows)
    prune(out, keep)
    rows = read_metrics(out)
    return TrainResult(out, [m for m in rows if m["step"] > first and "loss" in m],
                       result.checkpoint.path if result.checkpoint else None,
                       [m for m in rows if "val_loss" in m and (m["step"] > first or m["step"] == 0)])
