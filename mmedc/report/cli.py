"""`mmedc report DIR -o report.html`."""
from __future__ import annotations

from pathlib import Path

import typer

from mmedc.audit.cli import run_dir


def report(
    out: str = typer.Argument(..., help="A pipeline output folder (the --out of `mmedc run`; a local folder or s3://...).",
                              callback=run_dir),
    dest: Path = typer.Option(Path("report.html"), "--out", "-o", "--output", help="The HTML file to write."),
    check: bool = typer.Option(True, "--check/--no-check", help="Run `audit check` and show its verdict (hashes every shard)."),
):
    """Write a self-contained HTML report of a run: funnel per step and language, tokens by language ×
    source, score histograms with the packs' thresholds, OCR confidence per book, duplicates per
    source. It opens offline (inline SVG, no CDN)."""
    from mmedc.audit.query import AuditError
    from mmedc.report import build_report

    try:
        path = build_report(out, dest, check)
    except AuditError as e:
        typer.secho(f"error: {e}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    typer.echo(f"report written to {path}")


def register(app: typer.Typer):
    app.command("report")(report)
