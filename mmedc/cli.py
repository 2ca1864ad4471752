"""The `mmedc` command line. Heavy imports (Ray, torch, fastText) happen inside commands, so
`--help` is instant."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(
    help="mmedc builds the MMedC multilingual medical pretraining corpus: ingest → language ID → medical "
    "filter → dedup → tokenized Parquet shards, on Ray, with an audit row for every decision.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    # Help texts are plain text: with rich markup, "[default: ...]" or "[quality]" in a help would vanish.
    rich_markup_mode=None,
)
sample_app = typer.Typer(help="The embedded sample (written by the project) used by `make run`.", no_args_is_help=True)
app.add_typer(sample_app, name="sample")


def fail(msg: str, code: int = 2):
    typer.secho(f"error: {msg}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


@app.command()
def run(
    pipeline: Path = typer.Argument(..., help="Recipe TOML, e.g. pipelines/sample.toml."),
    out: str = typer.Option(..., "--out", "-o", help="Output folder (or s3://bucket/prefix): shards/, manifest.json, audit/, work/."),
    ray_address: Optional[str] = typer.Option(None, "--ray-address", show_default="start Ray embedded", help="Join an existing Ray cluster (e.g. 10.0.0.5:6379 or 'auto')."),
    workers: Optional[int] = typer.Option(None, "--workers", "-w", min=1, show_default="all cores", help="CPUs for embedded Ray."),
    restart: bool = typer.Option(False, "--restart", help="Discard a previous run in --out made with another recipe."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
    local: bool = typer.Option(False, "--local", help="Run every task in this process, without Ray (debugging, small inputs)."),
):
    """Run a pipeline recipe. Re-running the same command skips finished work and resumes after a crash."""
    from rich.console import Console
    from rich.table import Table

    from mmedc.config import load_recipe
    from mmedc.core.errors import MmedcError
    from mmedc.engine.runner import run as run_pipeline
    from mmedc.executor import LocalExecutor
    from mmedc.quiet import embedded_ray_env, ray_output_to

    from mmedc.sample.build import ensure_inputs

    try:
        recipe = load_recipe(pipeline)
        built = ensure_inputs(recipe)
        if built:
            typer.echo(f"sample inputs were missing: written to {built} (as `mmedc sample build` does)")
        embedded_ray_env(ray_address)
        # Ray's start-up and worker chatter goes to OUT/work/ray.log (its tail is shown on failure).
        with ray_output_to(_ray_log(out), enabled=not local):
            res = run_pipeline(recipe, out, ray_address=ray_address, workers=workers, restart=restart,
                               progress=not quiet, executor=LocalExecutor() if local else None)
    except (MmedcError, FileNotFoundError, ValueError) as e:
        fail(str(e), 1)
    console = Console()
    steps = Table(title="documents per step, in the order they ran")
    for col in ("step", "in", "kept", "dropped", "failed"):
        steps.add_column(col, justify="left" if col == "step" else "right")
    for r in res.steps:
        steps.add_row(r["step"], *(f"{r[k]:,}" for k in ("in", "kept", "dropped", "failed")))
    console.print(steps)
    t = res.manifest["totals"]
    table = Table(title=f"{recipe.name}: {t['docs']} documents, {t['tokens']:,} tokens in {len(res.manifest['shards'])} shard(s)")
    table.add_column("language")
    table.add_column("documents", justify="right")
    table.add_column("tokens", justify="right")
    for lang, v in t["by_lang"].items():
        table.add_row(lang, str(v["docs"]), f"{v['tokens']:,}")
    console.print(table)
    text = f"text:     {res.out / 'text'}\n" if (res.out / "text").is_dir() else ""
    console.print(f"shards:   {res.out / 'shards'}\n{text}card:     {res.out / 'README.md'}\n"
                  f"manifest: {res.out / 'manifest.json'}\naudit:    {res.out / 'audit'}")
    console.print(f"done in {res.seconds:.1f}s" + (f" ({res.skipped_tasks} finished task(s) reused)" if res.skipped_tasks else ""))


def _ray_log(out: str) -> Path:
    """Where Ray's output goes: OUT/work/ray.log, or a local file for an --out in a bucket."""
    from mmedc.core.storage import is_uri

    if is_uri(out):
        import hashlib
        import tempfile

        return Path(tempfile.gettempdir()) / f"mmedc-ray-{hashlib.sha1(out.encode()).hexdigest()[:12]}.log"
    return Path(out) / "work" / "ray.log"


@sample_app.command("build")
def sample_build(
    dest: Optional[Path] = typer.Option(None, "--out", "-o", "--dest", show_default="pipelines/sample/generated",
                                        help="Where to write the sample inputs."),
):
    """Write the sample inputs (JSONL, near-duplicates, HTML, WARC, a PDF with a scanned page, a damaged file)."""
    from mmedc.sample.build import build

    from mmedc.paths import pipelines_dir

    path = build(dest or pipelines_dir() / "sample" / "generated")
    typer.echo(f"sample inputs written to {path}")


# Each stage adds its own commands from `mmedc/<stage>/cli.py`, which defines `register(app)`.
# Add a module here (one line) to expose its commands; imports inside commands stay lazy.
STAGE_CLIS = [
    "mmedc.train.cli",
    "mmedc.audit.cli",
    "mmedc.report.cli",
    "mmedc.classify.cli",
    "mmedc.sources.cli",
    "mmedc.crawl.cli",
    "mmedc.dedup.cli",
    "mmedc.clean.cli",
    "mmedc.plan.cli",
]


def _register_stage_clis():
    import importlib

    for name in STAGE_CLIS:
        importlib.import_module(name).register(app)


_register_stage_clis()


def main():
    from mmedc.core.errors import MmedcError

    try:
        app()
    except (MmedcError, OSError, ValueError) as e:  # a user's error (a bad recipe, --out a file): one line
        typer.secho(f"error: {type(e).__name__ + ': ' if isinstance(e, OSError) else ''}{e}", fg=typer.colors.RED, err=True)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        typer.secho("interrupted (re-run the same command to resume)", err=True)
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
