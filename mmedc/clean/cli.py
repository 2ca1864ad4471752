"""`mmedc clean` (quality + PII + decontamination on a JSONL file) and `mmedc decontam index`."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

decontam_app = typer.Typer(help="Benchmark decontamination: build the n-gram index the pipeline and `mmedc clean` use.",
                           no_args_is_help=True)


def _fail(msg: str):
    typer.secho(f"error: {msg}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


@decontam_app.command("index")
def decontam_index(
    bench_files: List[Path] = typer.Argument(..., help="Benchmark JSONL files (.jsonl or .jsonl.gz): MMedBench layout "
                                             "(question, options, answer, rationale) or plain records with `text`."),
    out: Path = typer.Option(..., "--out", "-o", help="Index folder to write (meta.json, segments.jsonl, ngrams.npz)."),
    ngram: int = typer.Option(8, min=3, help="N-gram size in words."),
    cjk_ngram: int = typer.Option(12, min=3, help="N-gram size in characters for Chinese/Japanese/Korean items."),
    max_items: int = typer.Option(10, "--max-items-per-ngram", min=1,
                                  help="N-grams shared by more benchmark segments than this are stock phrases: not indexed."),
):
    """Index benchmark questions and rationales so that documents containing them can be dropped.

    Use it in a recipe with `[decontam] index = "PATH"` or with `mmedc clean --decontam PATH`."""
    from rich.progress import Progress, SpinnerColumn, TextColumn

    from mmedc.clean.decontam import DecontamError, build_index

    with Progress(SpinnerColumn(), TextColumn("{task.description} {task.completed} segments")) as bar:
        task = bar.add_task("indexing")
        try:
            meta = build_index(bench_files, out, ngram, cjk_ngram, max_items, progress=lambda: bar.advance(task))
        except DecontamError as e:
            _fail(str(e))
    typer.echo(f"{meta['segments']} segments, {meta['ngrams']} n-grams indexed in {out} "
               f"({meta['common_ngrams_dropped']} stock-phrase n-grams left out, {meta['too_short']} segments too short, "
               f"{meta['n_errors']} unreadable records)")
    for e in meta["errors"][:5]:
        typer.secho(f"  skipped {e}", fg=typer.colors.YELLOW, err=True)


def clean(
    input: Path = typer.Argument(..., help="JSONL (.jsonl, .jsonl.gz) or Parquet records with `id` and `text`; other fields are kept."),
    output: Path = typer.Option(..., "--out", "-o", "--output", help="JSONL to write: every input record, cleaned."),
    decontam: Optional[Path] = typer.Option(None, "--decontam", show_default="no check", help="Index folder from `mmedc decontam index`."),
    lang: Optional[str] = typer.Option(None, "--lang", show_default="identified with fastText",
                                       help="Language pack for records without a `lang` field."),
    min_coverage: float = typer.Option(0.5, help="Share of a benchmark item's n-grams that makes a record contaminated."),
):
    """Run quality rules, PII scrubbing and decontamination on a JSONL or Parquet file; nothing is dropped.

    Each output record has `text` scrubbed, `pii` (replacements made), `quality` (`kept` or the first failed
    rule) with `quality_failed` (all failed rules), `contaminated` (bool) and `matched` (benchmark item or null).
    A line that cannot be read is written as {"line": N, "error": ...} in its place (Parquet: "row")."""
    import json

    from rich.progress import track

    from mmedc.clean.records import Cleaner
    from mmedc.sources.jsonl import read_records

    if not input.exists():
        _fail(f"{input} not found")
    try:
        cleaner = Cleaner(decontam, lang, min_coverage)
    except ValueError as e:
        _fail(str(e))
    counts = {"records": 0, "dropped_quality": 0, "contaminated": 0, "pii": 0, "errors": 0}
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.name + ".tmp")
    errors = []
    with open(tmp, "w", encoding="utf-8") as w:
        items = read_records(input, text_field=None)
        for rec in cleaner.clean_items(track(items, description="cleaning", transient=True)):
            counts["records"] += 1
            if "error" in rec:
                counts["errors"] += 1
                errors.append(rec)
            counts["dropped_quality"] += rec.get("quality") not in (None, "kept")
            counts["contaminated"] += bool(rec.get("contaminated"))
            counts["pii"] += rec.get("pii", 0)
            w.write(json.dumps(rec, ensure_ascii=False, default=str) + "\n")
    tmp.replace(output)
    typer.echo(f"{counts['records']} records → {output}: {counts['dropped_quality']} fail quality, "
               f"{counts['contaminated']} contaminated, {counts['pii']} PII replacements, {counts['errors']} errors")
    for e in errors[:10]:
        where = next((e[k] for k in ("line", "row", "id") if k in e), "?")
        typer.secho(f"  {input.name}:{where}: {e['error']}", fg=typer.colors.YELLOW, err=True)


def register(app: typer.Typer):
    app.command("clean")(clean)
    app.add_typer(decontam_app, name="decontam")
