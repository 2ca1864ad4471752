"""The training loop each Ray Train worker runs (one process per CPU worker or per GPU).

CPU: fp32, DDP over gloo when there are several workers. CUDA: FSDP2 (`fully_shard` per decoder
layer, bf16 parameters, fp32 gradient reduction) over NCCL, activation checkpointing. The model is
built on the meta device and each rank materialises and fills only its shard (mmedc.train.weights).
Held-out sequences are evaluated per language at step 0, every eval_every steps and at the end.
Checkpoints are torch.distributed.checkpoint (DCP) folders, the same for one worker, DDP or FSDP:
every rank writes its part into its own folder and Ray Train merges them into storage
(`OUT/checkpoints/run-NNN/step-NNNNNN/`), with config.json (the architecture, for export) and
`trainer_state.json` (step, scheduler, data position and settings, the run's configuration).
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


def prepare_model(cfg: dict, vocab_size: int, eos_id: int, device, world: int):
    """Build on meta, shard (FSDP2) or not, materialise only the local shards, then load or initialise.

    Under FSDP no rank ever holds the whole model: each reads its rows of the checkpoint
    (mmedc.train.weights). DDP keeps a full replica per rank by design."""
    import torch

    from mmedc.train.model import model_config, resolve_model
    from mmedc.train.weights import init_fresh, load_weights, materialize, meta_model

    spec = resolve_model(cfg["model"])
    config = model_config(spec, vocab_size, eos_id)
    model, buffers = meta_model(config)
    if cfg.get("activation_checkpointing"):  # recompute each layer's activations in backward
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    fsdp = cfg["strategy"] == "fsdp"
    if fsdp:
        from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

        mp = MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32) if cfg["device"] == "cuda" else MixedPrecisionPolicy()
        for layer in model.model.layers:
            fully_shard(layer, mp_policy=mp)
        fully_shard(model, mp_policy=mp)
    materialize(model, device, buffers)
    if spec.weights:
        load_weights(model, spec.weights)
    else:
        init_fresh(model, cfg["seed"], getattr(config, "initializer_range", 0.02))
    if not fsdp and world > 1:
        from torch.nn.parallel import DistributedDataParallel

        model = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    return model, config


def evaluate(model, items: list, device, rank: int, world: int) -> dict[str, float]:
    """Mean next-token loss per language over the validation sequences, split round-robin over ranks.

    Every rank runs the same number of forward passes (FSDP gathers parameters collectively); a rank
    out of sequences repeats the first one with weight 0."""
    import torch
    import torch.distributed as dist

    from mmedc.train.data import IGNORE_INDEX

    langs = sorted({lang for lang, _ in items})
    sums = torch.zeros(2 * len(langs), dtype=torch.float64, device=device)
    model.eval()
    with torch.no_grad():
        for j in range(-(-len(items) // world)):
            i = j * world + rank
            lang, seq = items[i] if i < len(items) else items[0]
            inputs = {k: torch.from_numpy(v[None]).to(device) for k, v in seq.items()}
            loss = model(**inputs, use_cache=False).loss
            count = int((inputs["labels"][:, 1:] != IGNORE_INDEX).sum())
            if i < len(items) and count:
                k = langs.index(lang)
                sums[2 * k] += loss.double() * count
                sums[2 * k + 1] += count
    model.train()
    if world > 1:
        dist.all_reduce(sums)
    return {lang: float(sums[2 * k] / sums[2 * k + 1]) for k, lang in enumerate(langs) if sums[2 * k + 1] > 0}


def peak_rss_bytes() -> int:
    """This process's peak resident memory: VmHWM (ru_maxrss would carry the forking parent's peak over)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def _peak_memory_gb(device, world: int) -> float:
    """The highest peak over ranks: GPU memory allocated, or the process's peak RSS on CPU."""
    import torch
    import torch.distributed as dist

    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated(device)
    else:
        peak = peak_rss_bytes()
    t = torch.tensor([peak / 1e9], dtype=torch.float64, device=device)
    if world > 1:
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return round(float(t), 3)


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


def save_checkpoint(step: int, model, optim, sched, rank: int, extra: dict, metrics: dict, config=None):
    import ray.train
    import torch.distributed.checkpoint as dcp

    with tempfile.TemporaryDirectory() as tmp:
        dcp.save(_dcp_state(model, optim), checkpoint_id=tmp)
        if rank == 0:
            if config is not None:  # the architecture, for `mmedc train export`
                config.to_json_file(str(Path(tmp) / "config.json"))
            # written last: a folder with it is complete
            (Path(tmp) / STATE_FILE).write_text(json.dumps({"step": step, "scheduler": sched.state_dict(), **extra}))
        ray.train.report(metrics, checkpoint=ray.train.Checkpoint.from_directory(tmp),
                         checkpoint_dir_name=f"step-{step:06d}")


def _append(path: Path, row: dict):
    with open(path, "a") as f:
        f.write(json.dumps(row) + "\n")


def train_loop(cfg: dict):
    """Per-worker entry point for TorchTrainer; `cfg` is built by mmedc.train.launch."""
    import ray.train
    import torch
    import torch.distributed as dist
    from transformers import get_cosine_schedule_with_warmup

    from mmedc.train.data import BatchPlan, PackedSequences, load_shards, validation_set
    from mmedc.train.model import flops_per_token, peak_flops

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
    seqs = PackedSequences(shards, hp["seq_len"], hp.get("val_fraction", 0.0),
                           cfg["seed"] if hp.get("shuffle", True) else None)
    val = validation_set(shards, hp["seq_len"], hp.get("val_fraction", 0.0), hp.get("val_tokens", 0))
    val_items = val.items()
    plan = BatchPlan(hp["micro_batch"], hp["grad_accum"], world)
    t_load = time.perf_counter()
    model, config = prepare_model(cfg, shards.vocab_size, shards.eos_id, device, world)
    load = {"load_s": round(time.perf_counter() - t_load, 3), "load_peak_mem_gb": _peak_memory_gb(device, world)}
    fpt = flops_per_token(config, hp["seq_len"])
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]
    optim = torch.optim.AdamW([{"params": decay, "weight_decay": hp["weight_decay"]},
                               {"params": no_decay, "weight_decay": 0.0}], lr=hp["lr"], betas=(0.9, 0.95))
    steps = cfg["steps"]
    sched = get_cosine_schedule_with_warmup(optim, math.ceil(hp["warmup_ratio"] * steps), steps)
    data_key = {"global_batch": plan.global_batch, "seq_len": hp["seq_len"],
                "val_fraction": hp.get("val_fraction", 0.0), "shuffle_seed": seqs.seed}

    start = 0
    if cfg.get("resume_from"):
        st = load_checkpoint(cfg["resume_from"], model, optim, sched)
        start = st["step"]
        was = {k: st["data"].get(k, {"val_fraction": 0.0, "shuffle_seed": None}.get(k)) for k in data_key}
        if was != data_key:
            raise ValueError(f"resume: the checkpoint's data settings {was} differ from this run's {data_key}: "
                             "the same batches cannot be replayed")
    out = Path(cfg["out"])
    if rank == 0:
        (out / "validation.json").write_text(json.dumps(val.summary(), indent=1))
    if cfg.get("eval_only"):
        row = {"step": start, "val_loss": evaluate(model, val_items, device, rank, world), **load,
               "peak_mem_gb": _peak_memory_gb(device, world)}
        if rank == 0:
            _append(out / "eval.jsonl", row)
        ray.train.report(row)
        return
    stop = min(steps, cfg.get("stop_after") or steps)
    peak = peak_flops(torch.cuda.get_device_name(device)) if cuda else None
    tokens_per_step = plan.global_batch * hp["seq_len"]
    metrics_file = out / "metrics.jsonl"
    eval_every = hp.get("eval_every") or 0
    if val_items and start == 0:  # where the held-out loss starts from
        row = {"step": 0, "tokens": 0, "val_loss": evaluate(model, val_items, device, rank, world)}
        if rank == 0:
            _append(metrics_file, row)
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
             "epoch": done * plan.global_batch // seqs.per_epoch, "peak_mem_gb": _peak_memory_gb(device, world)}
        if peak:
            m["mfu"] = fpt * m["tokens_per_s"] / (world * peak)
        if step == start:
            m.update(load)
        if val_items and ((eval_every and done % eval_every == 0) or done == stop):
            m["val_loss"] = evaluate(model, val_items, device, rank, world)
        if rank == 0:
            _append(metrics_file, m)
            if bar is not None:
                bar.update(1)
        if done % hp["checkpoint_every"] == 0 or (done == stop and cfg.get("final_checkpoint", True)):
            data = {**data_key, "next_sequence": done * plan.global_batch}
            save_checkpoint(done, model, optim, sched, rank, {"data": data, "config": cfg}, m, config)
        elif done % cfg["log_every"] == 0 or done == stop:
            ray.train.report(m)
    if bar is not None:
        bar.close()
