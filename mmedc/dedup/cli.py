"""`mmedc dedup`: exact + MinHash near-dedup of a JSONL or Parquet file on Ray, optionally against an index."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer):
    @app.command("dedup")
    def dedup(
        input: Path = typer.Argument(..., exists=True, dir_okay=False, help="JSONL (.jsonl, .jsonl.gz) or Parquet records with `text`, optional `id` and `lang`."),
        out: Path = typer.Option(..., "--out", "-o", help="Output JSONL: every record with `duplicate` (bool) and `cluster` (id of its cluster's kept document; its own id when unique)."),
        threshold: Optional[float] = typer.Option(None, "--threshold", "-t", min=0.0, max=1.0, show_default="0.6", help="Jaccard threshold on shingles."),
        index: Optional[Path] = typer.Option(None, "--index", help="Dedup against this index (from earlier runs) and add this file's kept documents to it; created when missing."),
        num_perm: Optional[int] = typer.Option(None, "--num-perm", min=8, show_default="128", help="MinHash permutations."),
        shard_size: int = typer.Option(20000, "--shard-size", min=1, help="Records per signature task."),
        workers: Optional[int] = typer.Option(None, "--workers", "-w", min=1, show_default="all cores", help="CPUs for embedded Ray."),
        ray_address: Optional[str] = typer.Option(None, "--ray-address", show_default="start Ray embedded", help="Join an existing Ray cluster instead."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    ):
        """Mark exact and near-duplicate records (word / CJK character 2-gram Jaccard ≥ threshold).

        The kept document of a cluster is the one already in the index, else the longest text, ties
        by the smallest id. A line that cannot be read, or has no `text`, is written as its error record
        ({"line": N, "error": ...}) with duplicate = false.
        """
        import dataclasses

        from mmedc.config import DedupConfig
        from mmedc.dedup.index import DedupIndexError
        from mmedc.dedup.jsonl import dedup_jsonl
        from mmedc.executor.ray_executor import start, stop

        cfg = DedupConfig()
        cfg = dataclasses.replace(cfg, **{k: v for k, v in (("threshold", threshold), ("num_perm", num_perm)) if v is not None})
        from mmedc.quiet import embedded_ray_env, ray_output_to

        embedded_ray_env(ray_address)
        try:
            with ray_output_to(out.with_name(f".{out.name}.ray.log")):  # Ray's chatter; shown on failure
                started = start(ray_address, workers)
                try:
                    s = dedup_jsonl(input, out, cfg, index, shard_size, progress=not quiet)
                finally:
                    if started:
                        stop()
        except (DedupIndexError, ValueError, OSError) as e:
            typer.secho(f"error: {e}", fg=typer.colors.RED, err=True)
            raise typer.Exit(1)
        typer.echo(f"{s['documents']} documents: {s['duplicates']} duplicates, {s['kept']} kept, "
                   f"{s['errors']} unreadable line(s); {s['candidates']} candidate pairs, {s['edges']} verified "
                   f"→ {out}" + (f"; index {index} extended" if index else ""))
        for line in s["first_errors"]:
            typer.secho(f"  {line}", fg=typer.colors.YELLOW, err=True)
