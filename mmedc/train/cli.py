"""`mmedc train`: continue pretraining (or train from scratch) on the Parquet shards, on Ray Train."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer):
    @app.command()
    def train(
        shards: str = typer.Option(..., "--shards", help="A run folder made by `mmedc run` (manifest.json + shards/), or its shards/ folder."),
        model: str = typer.Option("tiny-llama", "--model", help="Preset (tiny-llama, llama3-8b), a config JSON, or a local checkpoint folder (config.json + weights) to continue from."),
        out: Path = typer.Option(Path("out/train"), "--out", "-o", help="Checkpoints (checkpoints/step-N/) and metrics.jsonl."),
        steps: int = typer.Option(100, "--steps", min=1, help="Optimizer steps of the whole run (the cosine schedule's length)."),
        device: str = typer.Option("cpu", "--device", help="cpu (fp32, DDP over gloo) or cuda (bf16, FSDP, activation checkpointing, NCCL)."),
        workers: int = typer.Option(1, "--workers", "-w", min=1, help="Training processes: CPU workers, or GPUs with --device cuda."),
        resume: bool = typer.Option(False, "--resume", help="Continue from the latest checkpoint in --out: same next batch, same loss."),
        stop_after: Optional[int] = typer.Option(None, "--stop-after", min=1, help="Stop (with a checkpoint) after this step; continue later with --resume."),
        seq_len: Optional[int] = typer.Option(None, "--seq-len", help="Tokens per packed sequence [model preset's]."),
        micro_batch: Optional[int] = typer.Option(None, "--micro-batch", help="Sequences per worker per forward pass [preset's]."),
        grad_accum: Optional[int] = typer.Option(None, "--grad-accum", help="Micro-batches per optimizer step; global batch = micro × workers × accum [preset's]."),
        lr: Optional[float] = typer.Option(None, "--lr", help="Peak learning rate (cosine, warmup) [preset's]."),
        checkpoint_every: Optional[int] = typer.Option(None, "--checkpoint-every", help="Steps between checkpoints [preset's]."),
        strategy: Optional[str] = typer.Option(None, "--strategy", help="ddp or fsdp [fsdp on cuda, ddp on cpu]."),
        activation_checkpointing: Optional[bool] = typer.Option(None, "--activation-checkpointing/--no-activation-checkpointing", help="Recompute activations in backward to save memory [on with cuda]."),
        seed: int = typer.Option(0, "--seed", help="Initial weights of a fresh model."),
        keep: int = typer.Option(2, "--keep", min=1, help="Checkpoints kept on disk."),
        ray_address: Optional[str] = typer.Option(None, "--ray-address", help="Join an existing Ray cluster; default: start Ray embedded."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    ):
        """Train a causal LM on packed shards (documents joined by EOS, attention kept inside documents).

        Logs loss, tokens/s and, on GPUs, model FLOPs utilisation to OUT/metrics.jsonl; checkpoints hold
        model, optimizer, scheduler and data position.

        \b
        mmedc train --shards out/sample --model tiny-llama --steps 30            # CPU smoke test
        mmedc train --shards out/sample --steps 30 --workers 2                   # two CPU workers (gloo)
        mmedc train --shards /data/run1 --model /ckpt/Meta-Llama-3-8B --device cuda --workers 8 --steps 2000
        """
        from rich.console import Console
        from rich.table import Table

        from mmedc.cli import fail
        from mmedc.train.data import ShardsError
        from mmedc.train.launch import TrainError, train as run_training
        from mmedc.train.model import ModelError

        overrides = {"seq_len": seq_len, "micro_batch": micro_batch, "grad_accum": grad_accum, "lr": lr,
                     "checkpoint_every": checkpoint_every}
        try:
            res = run_training(shards, model, out, steps, device=device, workers=workers, resume=resume,
                               stop_after=stop_after, overrides=overrides, seed=seed, strategy=strategy, keep=keep,
                               ray_address=ray_address, progress=not quiet,
                               activation_checkpointing=activation_checkpointing)
        except (TrainError, ShardsError, ModelError) as e:
            fail(str(e), 1)
        rows = res.metrics
        if not rows:
            fail("no step ran", 1)
        table = Table(title=f"{model}: steps {rows[0]['step']}–{rows[-1]['step']} of {steps}")
        for col in ("step", "loss", "tokens/s", "MFU"):
            table.add_column(col, justify="right")
        shown = rows[:: max(1, len(rows) // 10)]
        for m in shown + ([rows[-1]] if shown[-1] is not rows[-1] else []):
            table.add_row(str(m["step"]), f"{m['loss']:.4f}", f"{m['tokens_per_s']:,.0f}",
                          f"{m['mfu']:.1%}" if "mfu" in m else "–")
        Console().print(table)
        typer.echo(f"metrics:    {res.out / 'metrics.jsonl'}\ncheckpoint: {res.checkpoint}")
