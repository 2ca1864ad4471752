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


def _width() -> int:
    from rich.console import Console

    return max(40, min(Console().width, 120))


def compact_scores(scores: dict) -> str:
    """`k=v` pairs, short: floats to 3 significant digits, zeros / false / empty left out (--json has all)."""
    parts = []
    for k, v in scores.items():
        if v in (0, 0.0, False, None, "", [], {}) and not isinstance(v, bool) or v is False:
            continue
        if isinstance(v, float):
            v = f"{v:.3g}"
        elif isinstance(v, (dict, list)):
            v = json.dumps(v, ensure_ascii=False, separators=(",", ":"), default=str)
        parts.append(f"{k}={v}")
    return " ".join(parts)


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
    """Per shard × step × language: documents in, kept, dropped, failed, and the top reasons; then, for
    a source with a book list, its coverage (titles found / missing / failed; `mmedc audit books`)."""
    from mmedc.audit.query import AuditError, book_coverage, coverage_line, summary as run_summary

    try:
        df = run_summary(out, tuple(k.strip() for k in by.split(",") if k.strip()), top, shard, step, lang)
    except AuditError as e:
        _fail(str(e))
    if as_json:
        _echo_json(df.to_dicts())
    else:
        _table(df, f"audit of {out}")
        for c in book_coverage(out):
            typer.echo(coverage_line(c))


@audit_app.command()
def books(
    out: str = RUN_DIR,
    as_json: bool = typer.Option(False, "--json", help="Print JSON: per source, counts and every title's row."),
):
    """A book list's coverage: every listed title found (its documents), missing or failed (why)."""
    import polars as pl

    from mmedc.audit.query import book_coverage, coverage_line, scan

    cov = book_coverage(out)
    rows = []
    if cov:
        df = scan(out).filter(pl.col("step") == "books").select("source", "id", "decision", "reason", "lang",
                                                                 "detail").collect()  # in list order
        for r in df.iter_rows(named=True):
            d = json.loads(r.pop("detail") or "{}")
            status = {"kept": "found", "dropped": "missing"}.get(r["decision"], "failed")
            rows.append({"source": r["source"], "title": d.get("title"), "lang": r["lang"], "status": status,
                         "reason": r["reason"], "files": d.get("files", []), "documents": d.get("documents", [])})
    if as_json:
        _echo_json({"coverage": cov, "titles": rows})
        return
    if not cov:
        typer.echo(f"no book list in this run ({out})")
        return
    _table(pl.DataFrame([{k: (", ".join(v) if isinstance(v, list) else v) for k, v in r.items() if k != "documents"}
                         for r in rows]), "listed books")
    for c in cov:
        typer.echo(coverage_line(c))


@audit_app.command()
def explain(
    out: str = RUN_DIR,
    doc_id: str = typer.Argument(..., help="The document id: as stored (<source>:<id>) or the record's own id when only one source has it."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON records with every score."),
):
    """A document's whole path through the steps, with the scores each step recorded (compact:
    zeros left out, 3 significant digits; --json for the full record)."""
    import textwrap

    from mmedc.audit.query import AuditError, explain as run_explain, row_scores

    try:
        df = run_explain(out, doc_id)
    except AuditError as e:
        _fail(str(e), 1)
    rows = [{"shard": r["shard"], "id": r["id"], "step": r["step"], "decision": r["decision"], "reason": r["reason"],
             "scores": row_scores(r)} for r in df.iter_rows(named=True)]
    if as_json:
        _echo_json(rows)
        return
    width = _width()
    shards = sorted({r["shard"] for r in rows})
    typer.echo(f"{rows[0]['id']}  (shard {', '.join(shards)})")
    for r in rows:
        head = f"{r['step']:<10} {r['decision']:<8}" + (f" {r['reason']}" if r["reason"] else "")
        typer.echo(textwrap.fill(head, width, subsequent_indent=" " * 20))
        scores = dict(r["scores"])
        scores.pop("chars", None) if r["step"] != "ingest" else None
        if scores:
            typer.echo(textwrap.fill(compact_scores(scores), width, initial_indent=" " * 11,
                                     subsequent_indent=" " * 11, break_on_hyphens=False))


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
    doc_id: Optional[str] = typer.Option(None, "--id", help="Only this document (stored id, or its own id when unambiguous)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON records (full text)."),
):
    """Documents a step kept, dropped or failed, with their scores and text, for reading.

    Example: ten pages the medical filter dropped with density just under the threshold:
    mmedc audit sample OUT --step medical --decision dropped --where "medical_density > 0.03" --sort medical_density --desc
    """
    from mmedc.audit.query import AuditError, row_scores, sample as run_sample

    try:
        df = run_sample(out, step, decision, reason, where, lang, n, sort, desc, seed, doc_id)
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

    from rich.text import Text

    console = Console(width=_width())
    console.print(f"{len(rows)} document(s) at step {step}" + (f", {decision}" if decision else ""))
    for r in rows:
        text = r["text"] if r["text"] is not None else "(no text: the document was not ingested)"
        if chars and len(text) > chars:
            text = text[:chars] + " …"
        # The reason goes in the body, where it wraps; a panel title is cut at the panel's width.
        body = Text()
        if r["reason"]:
            body.append(f"{r['reason']}\n", style="bold")
        body.append(compact_scores(r["scores"]) + "\n", style="dim")
        body.append(text)
        head = Text(f"{r['id']} · {r['shard']} · {r['lang']} · {r['decision']}", style="bold")
        console.print(Panel(body, title=head, title_align="left"))


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
    from mmedc.audit.schema import DECISIONS

    # One column per decision, "a → b (±d)": the table fits 80 columns.
    arrows = changed.select("step", "lang", *[
        pl.when(pl.col(f"{d}_delta") == 0).then(pl.col(f"{d}_a").cast(pl.String))
        .otherwise(pl.format("{} → {} ({})", f"{d}_a", f"{d}_b",
                             pl.when(pl.col(f"{d}_delta") > 0).then(pl.format("+{}", f"{d}_delta"))
                             .otherwise(pl.col(f"{d}_delta").cast(pl.String)))).alias(d) for d in DECISIONS])
    _table(arrows, "counts that changed (a → b)")
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
        import textwrap

        facts = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in res.checked.items())
        if res.ok:
            typer.secho(textwrap.fill(f"✓ audit check passed ({facts})", _width(), subsequent_indent="  "),
                        fg=typer.colors.GREEN)
        else:
            typer.secho(textwrap.fill(f"{len(res.violations)} violation(s) ({facts})", _width(),
                                      subsequent_indent="  "), fg=typer.colors.RED, err=True)
    if not res.ok:
        raise typer.Exit(1)


def register(app: typer.Typer):
    app.add_typer(audit_app, name="audit")
