"""The training loop each Ray Train worker runs (one process per CPU worker or per GPU).

CPU: fp32, DDP over gloo when there are several workers. CUDA: FSDP2 (`fully_shard` per decoder
layer, bf16 parameters, fp32 gradient reduction) over NCCL, activation checkpointing.
Checkpoints are torch.distributed.checkpoint (DCP) folders, the same for one worker, DDP or FSDP:
every rank writes its part into its own folder and Ray Train merges them into storage
(`OUT/checkpoints/step-NNNNNN/`), with `trainer_state.json` (step, scheduler, data position).
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import math
import tempfile
import time
from pathlib import Path

STATE_FILE = "trainer_state.json"


def _wrap(model, cfg: dict, device, world: int):
    import torch

    if cfg.get("activation_checkpointing"):  # recompute each layer's activations in backward
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if cfg["strategy"] == "fsdp":
        from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

        mp = MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32) if cfg["device"] == "cuda" else MixedPrecisionPolicy()
        model.to(device)
        for layer in model.model.layers:
            fully_shard(layer, mp_policy=mp)
        fully_shard(model, mp_policy=mp)
        return model
    model.to(device)
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    return model


def _dcp_state(model, optim):
    from torch.distributed.checkpoint.state_dict import get_state_dict

    msd, osd = get_state_dict(model, optim)
    return {"model": msd, "optim": osd}


def load_checkpoint(path: str, model, optim, sched) -> dict:
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.state_dict import set_state_dict

    state = _dcp_state(model, optim)
    dcp.load(state, checkpoint_id=path)
    set_state_dict(model, optim, model_state_dict=state["model"], optim_state_dict=state["optim"])
    trainer_state = json.loads((Path(path) / STATE_FILE).read_text())
    sched.load_state_dict(trainer_state["scheduler"])
    return trainer_state


def save_checkpoint(step: int, model, optim, sched, rank: int, extra: dict, metrics: dict):
    import ray.train
    import torch.distributed.checkpoint as dcp

    with tempfile.TemporaryDirectory() as tmp:
        dcp.save(_dcp_state(model, optim), checkpoint_id=tmp)
        if rank == 0:  # written last: a folder with it is complete
            (Path(tmp) / STATE_FILE).write_text(json.dumps({"step": step, "scheduler": sched.state_dict(), **extra}))
        ray.train.report(metrics, checkpoint=ray.train.Checkpoint.from_directory(tmp),
                         checkpoint_dir_name=f"step-{step:06d}")


def train_loop(cfg: dict):
    """Per-worker entry point for TorchTrainer; `cfg` is built by mmedc.train.launch."""
    import ray.train
    import torch
    import torch.distributed as dist
    from transformers import get_cosine_schedule_with_warmup

    from mmedc.train.data import BatchPlan, PackedSequences, load_shards
    from mmedc.train.model import build_model, flops_per_token, peak_flops, resolve_model

    ctx = ray.train.get_context()
    rank, world = ctx.get_world_rank(), ctx.get_world_size()
    cuda = cfg["device"] == "cuda"
    if cuda:
        import ray.train.torch

        device = ray.train.torch.get_device()
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
        torch.set_num_threads(cfg["threads"])
    torch.use_deterministic_algorithms(not cuda, warn_only=True)  # CPU: bitwise-repeatable steps for --resume

    hp = cfg["train"]
    shards = load_shards(cfg["shards"])
    seqs = PackedSequences(shards, hp["seq_len"])
    plan = BatchPlan(hp["micro_batch"], hp["grad_accum"], world)
    model = build_model(resolve_model(cfg["model"]), shards.vocab_size, shards.eos_id, cfg["seed"])
    fpt = flops_per_token(model.config, hp["seq_len"])
    model = _wrap(model, cfg, device, world)
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]
    optim = torch.optim.AdamW([{"params": decay, "weight_decay": hp["weight_decay"]},
                               {"params": no_decay, "weight_decay": 0.0}], lr=hp["lr"], betas=(0.9, 0.95))
    steps = cfg["steps"]
    sched = get_cosine_schedule_with_warmup(optim, math.ceil(hp["warmup_ratio"] * steps), steps)

    start = 0
    if cfg.get("resume_from"):
        st = load_checkpoint(cfg["resume_from"], model, optim, sched)
        start = st["step"]
        if st["data"]["global_batch"] != plan.global_batch or st["data"]["seq_len"] != hp["seq_len"]:
            raise ValueError(f"resume: checkpoint was made with global batch {st['data']['global_batch']} × "
                             f"seq {st['data']['seq_len']}, now {plan.global_batch} × {hp['seq_len']}")
    stop = min(steps, cfg.get("stop_after") or steps)
    peak = peak_flops(torch.cuda.get_device_name(device)) if cuda else None
    tokens_per_step = plan.global_batch * hp["seq_len"]
    metrics_file = Path(cfg["out"]) / "metrics.jsonl"
    bar = None
    if rank == 0 and cfg.get("progress", True):
        from ray.experimental.tqdm_ray import tqdm

        bar = tqdm(total=stop - start, desc=f"train {cfg['model']}")

    model.train()
    for step in range(start, stop):
        t0 = time.perf_counter()
        loss_sum = torch.zeros((), device=device)
        digest = hashlib.sha1()
        for a in range(plan.grad_accum):
            batch = seqs.batch(plan.first_sequence(step, rank, a), plan.micro_batch)
            digest.update(batch["input_ids"].tobytes())
            inputs = {k: torch.from_numpy(v).to(device) for k, v in batch.items()}
            # Reduce gradients across workers only on the last micro-batch of the step.
            last = a == plan.grad_accum - 1
            if hasattr(model, "set_requires_gradient_sync"):  # FSDP2
                model.set_requires_gradient_sync(last)
            ctx_mgr = model.no_sync() if not last and hasattr(model, "no_sync") else contextlib.nullcontext()
            with ctx_mgr:
                loss = model(**inputs, use_cache=False).loss / plan.grad_accum
                loss.backward()
            loss_sum += loss.detach()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optim.step()
        sched.step()
        optim.zero_grad(set_to_none=True)
        if world > 1:
            dist.all_reduce(loss_sum)  # SUM: gloo has no AVG
            loss_sum /= world
        if cuda:
            torch.cuda.synchronize()
        dt = time.perf_counter() - t0
        done = step + 1
        m = {"step": done, "loss": float(loss_sum), "lr": sched.get_last_lr()[0],
             "grad_norm": float(grad_norm.full_tensor() if hasattr(grad_norm, "full_tensor") else grad_norm),
             "tokens": done * tokens_per_step, "tokens_per_s": tokens_per_step / dt, "batch_sha1": digest.hexdigest()[:16],
             "epoch": done * plan.global_batch // seqs.per_epoch}
        if peak:
            m["mfu"] = fpt * m["tokens_per_s"] / (world * peak)
        if rank == 0:
            with open(metrics_file, "a") as f:
                f.write(json.dumps(m) + "\n")
            if bar is not None:
                bar.update(1)
        if done % hp["checkpoint_every"] == 0 or done == stop:
            data = {"global_batch": plan.global_batch, "seq_len": hp["seq_len"], "next_sequence": done * plan.global_batch}
            save_checkpoint(done, model, optim, sched, rank, {"data": data}, m)
        elif done % cfg["log_every"] == 0:
            ray.train.report(m)
    if bar is not None:
        bar.close()
