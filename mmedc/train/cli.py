"""`mmedc train` (continue pretraining, or train from scratch, on the Parquet shards, on Ray Train) and
`mmedc train export` (a checkpoint → a Hugging Face folder)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

train_app = typer.Typer(add_completion=False, no_args_is_help=False, invoke_without_command=True,
                        context_settings={"help_option_names": ["-h", "--help"]})


def _tables(model: str, steps: int, res):
    from rich.console import Console
    from rich.table import Table

    console = Console()
    rows = res.metrics
    if rows:
        table = Table(title=f"{model}: steps {rows[0]['step']}–{rows[-1]['step']} of {steps}")
        for col in ("step", "loss", "tokens/s", "MFU", "peak mem GB"):
            table.add_column(col, justify="right")
        shown = rows[:: max(1, len(rows) // 10)]
        for m in shown + ([rows[-1]] if shown[-1] is not rows[-1] else []):
            table.add_row(str(m["step"]), f"{m['loss']:.4f}", f"{m['tokens_per_s']:,.0f}",
                          f"{m['mfu']:.1%}" if "mfu" in m else "–", f"{m.get('peak_mem_gb', 0):.2f}")
        console.print(table)
    val = res.validation
    if val:
        langs = sorted({lang for r in val for lang in r["val_loss"]})
        table = Table(title="held-out loss per language")
        table.add_column("step", justify="right")
        for lang in langs:
            table.add_column(lang, justify="right")
        shown = val[:: max(1, len(val) // 10)]
        for r in shown + ([val[-1]] if shown[-1] is not val[-1] else []):
            table.add_row(str(r["step"]), *[f"{r['val_loss'][lang]:.4f}" if lang in r["val_loss"] else "–" for lang in langs])
        console.print(table)


@train_app.callback()
def train(
    ctx: typer.Context,
    shards: Optional[str] = typer.Option(None, "--shards", help="A run folder made by `mmedc run` (manifest.json + shards/), or its shards/ folder (local or s3://...). Required for training."),
    model: str = typer.Option("tiny-llama", "--model", help="Preset (tiny-llama, llama3-1b, llama3-8b), a config JSON, or a local Hugging Face checkpoint folder (config.json + safetensors) to continue from."),
    preset: Optional[str] = typer.Option(None, "--preset", help="Hyper-parameter preset over the model's defaults, e.g. mmed-llama3 (MMed-Llama 3's recipe, global batch scaled to the workers)."),
    out: Path = typer.Option(Path("out/train"), "--out", "-o", help="Checkpoints (checkpoints/run-N/step-N/), metrics.jsonl, validation.json."),
    steps: int = typer.Option(100, "--steps", min=1, help="Optimizer steps of the whole run (the cosine schedule's length)."),
    device: str = typer.Option("cpu", "--device", help="cpu (fp32, DDP over gloo) or cuda (bf16, FSDP, activation checkpointing, NCCL)."),
    workers: int = typer.Option(1, "--workers", "-w", min=1, help="Training processes: CPU workers, or GPUs with --device cuda."),
    resume: bool = typer.Option(False, "--resume", help="Continue from the latest checkpoint in --out: same next batch, same loss."),
    stop_after: Optional[int] = typer.Option(None, "--stop-after", min=1, help="Stop (with a checkpoint) after this step; continue later with --resume."),
    eval_only: bool = typer.Option(False, "--eval-only", help="Only evaluate the held-out loss per language (of --model, or of the latest checkpoint with --resume) into OUT/eval.jsonl."),
    seq_len: Optional[int] = typer.Option(None, "--seq-len", help="Tokens per packed sequence [preset's]."),
    micro_batch: Optional[int] = typer.Option(None, "--micro-batch", help="Sequences per worker per forward pass [preset's]."),
    grad_accum: Optional[int] = typer.Option(None, "--grad-accum", help="Micro-batches per optimizer step; global batch = micro × workers × accum [preset's, or global_batch / (micro × workers)]."),
    lr: Optional[float] = typer.Option(None, "--lr", help="Peak learning rate (cosine, warmup) [preset's]."),
    checkpoint_every: Optional[int] = typer.Option(None, "--checkpoint-every", help="Steps between checkpoints [preset's]."),
    eval_every: Optional[int] = typer.Option(None, "--eval-every", help="Steps between held-out evaluations (also at step 0 and at the end) [preset's]."),
    val_fraction: Optional[float] = typer.Option(None, "--val-fraction", help="Share of documents held out by id hash, never trained on; 0 = none [preset's]."),
    val_tokens: Optional[int] = typer.Option(None, "--val-tokens", help="Held-out tokens evaluated per language [preset's]."),
    shuffle: Optional[bool] = typer.Option(None, "--shuffle/--no-shuffle", help="Reshuffle shards and documents every epoch with --seed [on]."),
    strategy: Optional[str] = typer.Option(None, "--strategy", help="ddp or fsdp [fsdp on cuda, ddp on cpu]."),
    activation_checkpointing: Optional[bool] = typer.Option(None, "--activation-checkpointing/--no-activation-checkpointing", help="Recompute activations in backward to save memory [on with cuda]."),
    seed: int = typer.Option(0, "--seed", help="Initial weights of a fresh model and each epoch's data order."),
    keep: int = typer.Option(2, "--keep", min=1, help="Checkpoints kept on disk."),
    ray_address: Optional[str] = typer.Option(None, "--ray-address", help="Join an existing Ray cluster; default: start Ray embedded."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
):
    """Train a causal LM on packed shards (documents joined by EOS, attention kept inside documents).

    Logs loss, tokens/s, peak memory and, on GPUs, model FLOPs utilisation to OUT/metrics.jsonl, with the
    held-out loss per language every --eval-every steps; checkpoints hold model, optimizer, scheduler
    and data position. `mmedc train export CHECKPOINT --out DIR` writes a Hugging Face folder.

    \b
    mmedc train --shards out/sample --model tiny-llama --steps 30            # CPU smoke test
    mmedc train --shards out/sample --steps 30 --workers 2                   # two CPU workers (gloo)
    mmedc train --shards /data/run1 --model /ckpt/Meta-Llama-3-8B --preset mmed-llama3 --device cuda --workers 8 --steps 6000
    mmedc train export out/train --out out/hf                                # latest checkpoint → HF folder
    """
    if ctx.invoked_subcommand is not None:
        return
    from mmedc.cli import fail
    from mmedc.train.data import ShardsError
    from mmedc.train.launch import TrainError, train as run_training
    from mmedc.train.model import ModelError
    from mmedc.train.weights import WeightsError

    if shards is None:
        fail("--shards is required (a run folder made by `mmedc run`)", 2)
    overrides = {"seq_len": seq_len, "micro_batch": micro_batch, "grad_accum": grad_accum, "lr": lr,
                 "checkpoint_every": checkpoint_every, "eval_every": eval_every, "val_fraction": val_fraction,
                 "val_tokens": val_tokens, "shuffle": shuffle}
    from mmedc.quiet import embedded_ray_env, ray_output_to

    embedded_ray_env(ray_address)
    try:
        with ray_output_to(Path(out) / "ray.log"):  # Ray Train's chatter; its tail is shown on failure
            res = run_training(shards, model, out, steps, device=device, workers=workers, resume=resume,
                               stop_after=stop_after, overrides=overrides, seed=seed, strategy=strategy, keep=keep,
                               ray_address=ray_address, progress=not quiet, preset=preset, eval_only=eval_only,
                               activation_checkpointing=activation_checkpointing)
    except (TrainError, ShardsError, ModelError, WeightsError) as e:
        fail(str(e), 1)
    if not res.metrics and not res.validation:
        fail("no step ran", 1)
    _tables(model, steps, res)
    if eval_only:
        typer.echo(f"held-out loss: {res.out / 'eval.jsonl'}")
    else:
        typer.echo(f"metrics:    {res.out / 'metrics.jsonl'}\ncheckpoint: {res.checkpoint}")


@train_app.command("export")
def export_cmd(
    checkpoint: Path = typer.Argument(..., help="A checkpoint folder (OUT/checkpoints/run-N/step-N) or a training --out folder (its latest checkpoint)."),
    out: Path = typer.Option(..., "--out", "-o", help="The Hugging Face folder to write (new or empty)."),
    dtype: str = typer.Option("float32", "--dtype", help="float32 (exact), bfloat16 or float16."),
    max_shard_size: str = typer.Option("5GB", "--max-shard-size", help="Largest safetensors file; bigger models are split with an index."),
):
    """Write a checkpoint as a Hugging Face folder: safetensors, config, tokenizer files, README.md model card
    (data manifest's token table, training settings, held-out loss per language)."""
    from mmedc.cli import fail
    from mmedc.train.export import ExportError, export

    try:
        path = export(checkpoint, out, dtype=dtype, max_shard_size=max_shard_size)
    except ExportError as e:
        fail(str(e), 1)
    typer.echo(f"exported to {path}")


def register(app: typer.Typer):
    app.add_typer(train_app, name="train")
