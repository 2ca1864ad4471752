"""`mmedc audit ...`: why every document was kept or dropped, per shard, from a run's audit."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

audit_app = typer.Typer(
    help="Read a run's audit (OUT/audit/<step>/<shard>.parquet): summaries, one document's path, "
    "samples with text, diffs between runs, and `check` of the run's invariants.",
    no_args_is_help=True,
)

def run_dir(value: str) -> str:
    """A run folder argument: a local folder that must exist, or a URI (s3://bucket/run) as it is."""
    from mmedc.core.storage import is_uri

    if value is not None and not is_uri(value) and not Path(value).is_dir():
        raise typer.BadParameter(f"Directory '{value}' does not exist.")
    return value


RUN_DIR = typer.Argument(..., help="A pipeline output folder (the --out of `mmedc run`; a local folder or s3://...).",
                         callback=run_dir)


def _fail(msg: str, code: int = 2):
    typer.secho(f"error: {msg}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def _table(df, title: str | None = None):
    from rich.console import Console
    from rich.table import Table

    t = Table(title=title)
    for c in df.columns:
        t.add_column(c, justify="right" if df[c].dtype.is_numeric() else "left", overflow="fold")
    for row in df.iter_rows():
        t.add_row(*["" if v is None else (f"{v:.4g}" if isinstance(v, float) else str(v)) for v in row])
    Console().print(t)


def _echo_json(obj):
    typer.echo(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


@audit_app.command()
def summary(
    out: str = RUN_DIR,
    by: str = typer.Option("shard,step,lang", "--by", help="Group by any of shard, step, lang, source (comma-separated)."),
    shard: Optional[str] = typer.Option(None, "--shard", help="Only this shard."),
    step: Optional[str] = typer.Option(None, "--step", help="Only this step."),
    lang: Optional[str] = typer.Option(None, "--lang", help="Only documents of this language ('?' = never identified)."),
    top: int = typer.Option(3, "--top", min=0, help="How many top reason kinds to list per group."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON records instead of a table."),
):
    """Per shard × step × language: documents in, kept, dropped, failed, and the top reasons."""
    from mmedc.audit.query import AuditError, summary as run_summary

    try:
        df = run_summary(out, tuple(k.strip() for k in by.split(",") if k.strip()), top, shard, step, lang)
    except AuditError as e:
        _fail(str(e))
    if as_json:
        _echo_json(df.to_dicts())
    else:
        _table(df, f"audit of {out}")


@audit_app.command()
def explain(
    out: str = RUN_DIR,
    doc_id: str = typer.Argument(..., help="The document id (as in the audit and the shards)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON records."),
):
    """A document's whole path through the steps, with the scores each step recorded."""
    from mmedc.audit.query import AuditError, explain as run_explain, row_scores

    try:
        df = run_explain(out, doc_id)
    except AuditError as e:
        _fail(str(e))
    if df.is_empty():
        _fail(f"no audit row for id {doc_id!r} in {out}", 1)
    rows = [{"shard": r["shard"], "step": r["step"], "decision": r["decision"], "reason": r["reason"],
             "scores": row_scores(r)} for r in df.iter_rows(named=True)]
    if as_json:
        _echo_json(rows)
        return
    import polars as pl

    _table(pl.DataFrame([{**{k: r[k] for k in ("shard", "step", "decision", "reason")},
                          "scores": json.dumps(r["scores"], ensure_ascii=False, default=str)} for r in rows]),
           f"{doc_id}")


@audit_app.command()
def sample(
    out: str = RUN_DIR,
    step: str = typer.Option(..., "--step", help="The step, e.g. medical."),
    decision: Optional[str] = typer.Option(None, "--decision", help="kept, dropped or failed."),
    reason: Optional[str] = typer.Option(None, "--reason", help="Only reasons containing this text, e.g. not_medical."),
    where: Optional[str] = typer.Option(None, "--where", help="SQL condition on audit columns, e.g. \"medical_density > 0.03 AND lang = 'en'\"."),
    lang: Optional[str] = typer.Option(None, "--lang", help="Only documents of this language."),
    n: int = typer.Option(10, "-n", min=1, help="How many documents."),
    sort: Optional[str] = typer.Option(None, "--sort", help="Order by this column (e.g. medical_density) instead of sampling at random."),
    desc: bool = typer.Option(False, "--desc", help="With --sort: largest first."),
    seed: int = typer.Option(0, "--seed", help="Seed of the random sample."),
    chars: int = typer.Option(600, "--chars", min=0, help="Characters of text to show per document (0 = all)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON records (full text)."),
):
    """Documents a step kept, dropped or failed, with their scores and text, for reading.

    Example: ten pages the medical filter dropped with density just under the threshold:
    mmedc audit sample OUT --step medical --decision dropped --where "medical_density > 0.03" --sort medical_density --desc
    """
    from mmedc.audit.query import AuditError, row_scores, sample as run_sample

    try:
        df = run_sample(out, step, decision, reason, where, lang, n, sort, desc, seed)
    except AuditError as e:
        _fail(str(e))
    rows = [{"shard": r["shard"], "id": r["id"], "lang": r["doc_lang"], "decision": r["decision"],
             "reason": r["reason"], "scores": row_scores(r), "url": r.get("url"), "text": r.get("text")}
            for r in df.iter_rows(named=True)]
    if as_json:
        _echo_json(rows)
        return
    from rich.console import Console
    from rich.panel import Panel

    console = Console()
    console.print(f"{len(rows)} document(s) at step {step}" + (f", {decision}" if decision else ""))
    for r in rows:
        text = r["text"] if r["text"] is not None else "(no text: the document was not ingested)"
        if chars and len(text) > chars:
            text = text[:chars] + " …"
        head = f"[bold]{r['id']}[/] · {r['shard']} · {r['lang']} · {r['decision']}" + (f" · {r['reason']}" if r["reason"] else "")
        scores = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in r["scores"].items())
        console.print(Panel(f"[dim]{scores}[/]\n{text}", title=head, title_align="left"), markup=True)


@audit_app.command()
def diff(
    out_a: str = typer.Argument(..., help="The earlier run's output folder.", callback=run_dir),
    out_b: str = typer.Argument(..., help="The later run's output folder.", callback=run_dir),
    ids: int = typer.Option(20, "--ids", min=0, help="How many changed documents to list."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
):
    """What changed between two runs, per step and language, and which documents changed decision."""
    from mmedc.audit.query import AuditError, diff as run_diff

    try:
        counts, changes = run_diff(out_a, out_b)
    except AuditError as e:
        _fail(str(e))
    import polars as pl

    changed = counts.filter(pl.any_horizontal([pl.col(c) != 0 for c in counts.columns if c.endswith("_delta")]))
    if as_json:
        _echo_json({"counts": counts.to_dicts(), "changed_documents": changes.height,
                    "changes": changes.head(ids).to_dicts() if ids else []})
        return
    if changed.is_empty() and changes.is_empty():
        typer.echo("no differences: every step made the same decision about every document")
        return
    _table(changed, "counts that changed (a → b)")
    typer.echo(f"{changes.height} document decision(s) changed")
    if ids and not changes.is_empty():
        _table(changes.head(ids), f"first {min(ids, changes.height)} changed document(s)")


@audit_app.command()
def check(
    out: str = RUN_DIR,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
):
    """Verify the run: conservation per shard and step (in = kept + dropped + failed, in = previous
    step's kept), markers agree with the audit, manifest shards exist with their sha256, and no id is
    both kept at the end and dropped. Exits 1 on any violation."""
    from mmedc.audit.check import check as run_check

    res = run_check(out)
    if as_json:
        _echo_json({"ok": res.ok, "violations": res.violations, "checked": res.checked})
    else:
        for v in res.violations:
            typer.secho(f"✗ {v}", fg=typer.colors.RED, err=True)
        facts = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in res.checked.items())
        if res.ok:
            typer.secho(f"✓ audit check passed ({facts})", fg=typer.colors.GREEN)
        else:
            typer.secho(f"{len(res.violations)} violation(s) ({facts})", fg=typer.colors.RED, err=True)
    if not res.ok:
        raise typer.Exit(1)


def register(app: typer.Typer):
    app.add_typer(audit_app, name="audit")
