"""Reading a run's audit with polars: step order, summary, a document's path, samples, diffs.

Everything here works lazily over `OUT/audit/<step>/<shard>.parquet` and reads only the columns it
needs, so summaries of millions of rows take seconds. The step order is not hard-coded: it comes
from the run's completion markers (each task lists the steps it audited, in order), so steps added
to the filter chain show up in their place without code changes here.
"""
from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from mmedc.audit.schema import AUDIT_SCHEMA, DECISIONS, DROPPED, FAILED, KEPT, LIST_STEPS, SCORE_COLUMNS
from mmedc.core.storage import path as storage_path, read_parquet

# Pipeline stages in the order they run (mmedc.engine.runner); the steps inside each come from data.
STAGE_ORDER = ("ingest", "filter", "finalize")
NO_LANG = "?"  # documents that never reached language ID (failed or dropped at ingest)


class AuditError(ValueError):
    """An output folder without a readable audit."""


def audit_files(out: Path) -> list[Path]:
    return sorted((storage_path(out) / "audit").glob("*/*.parquet"), key=str)  # local or a URI


def polars_schema() -> dict:
    return dict(pl.from_arrow(AUDIT_SCHEMA.empty_table()).schema)


def scan(out: Path) -> pl.LazyFrame:
    """The whole audit as one lazy frame (columns added to the schema later read as nulls)."""
    files = audit_files(out)
    if not files:
        raise AuditError(f"no audit files under {storage_path(out) / 'audit'} (is {out} a pipeline output folder?)")
    return pl.scan_parquet([str(f) for f in files], schema=polars_schema(),
                           missing_columns="insert", extra_columns="ignore")


def _markers(out: Path) -> list[dict]:
    done = storage_path(out) / "work" / "done"
    found = []
    for p in sorted(done.glob("*/*.json"), key=str):
        try:
            found.append(json.loads(p.read_text()))
        except (OSError, json.JSONDecodeError):
            continue
    return found


def step_order(out: Path) -> list[str]:
    """Steps in pipeline order, from the markers' `counts` (ordered per task); audit folders that no
    marker names (a run without markers, a step from an older run) follow in name order. A source's
    list rows (LIST_STEPS: a book list's titles) are not documents in the chain: not a step here."""
    ranked: dict[str, tuple[int, int]] = {}
    for m in _markers(out):
        stage = m.get("stage", "")
        rank = STAGE_ORDER.index(stage) if stage in STAGE_ORDER else len(STAGE_ORDER)
        for i, step in enumerate(m.get("counts") or {}):
            ranked[step] = min(ranked.get(step, (rank, i)), (rank, i))
    steps = sorted(ranked, key=lambda s: ranked[s])
    extra = sorted(p.name for p in (storage_path(out) / "audit").glob("*")
                   if p.is_dir() and p.name not in ranked and p.name not in LIST_STEPS)
    return steps + extra


def reason_kind(col: str = "reason") -> pl.Expr:
    """`not_medical: hits 2 (min 5), ...` -> `not_medical`: reasons grouped by their kind."""
    return pl.col(col).str.split(":").list.first().str.strip_chars()


def lang_step(out: Path) -> str | None:
    """The first step that records a language (language ID): the source of every document's language."""
    import pyarrow.compute as pc

    for step in step_order(out):
        for f in sorted((storage_path(out) / "audit" / step).glob("*.parquet"), key=str):
            col = read_parquet(f, columns=["lang"])["lang"]
            if len(col):
                if pc.any(pc.is_valid(col)).as_py():
                    return step
                break
    return None


def with_doc_lang(lf: pl.LazyFrame, out: Path) -> pl.LazyFrame:
    """Gives every row its document's language as `doc_lang`, so ingest rows and rows of steps that
    set no `lang` group by language too: a row's own language, else the one language ID recorded
    for the same (shard, id), else NO_LANG (the document never reached language ID)."""
    step = lang_step(out)
    have = lf.filter(pl.col("lang").is_not_null()).with_columns(pl.col("lang").alias("doc_lang"))
    missing = lf.filter(pl.col("lang").is_null())
    if step is None:
        return pl.concat([have, missing.with_columns(pl.lit(NO_LANG).alias("doc_lang"))])
    # Joined on a 64-bit hash of (shard, id): ~5x faster than a join on the two strings at 5M rows.
    # Language ID's decision wins; a document the medical scan dropped before language ID (the
    # default order) has the language its medical decision used (docs/engine.md).
    key = pl.struct("shard", "id").hash().alias("_key")
    lookup = (lf.filter(pl.col("step") == step).select(key, pl.col("lang").alias("doc_lang"))
              .unique("_key", keep="any"))
    if step != "langid" and "langid" in step_order(out):
        lid = (lf.filter(pl.col("step") == "langid").select(key, pl.col("lang").alias("lid_lang"))
               .unique("_key", keep="any"))
        lookup = (lookup.join(lid, on="_key", how="left")
                  .select("_key", pl.coalesce("lid_lang", "doc_lang").alias("doc_lang")))
    missing = (missing.with_columns(key).join(lookup, on="_key", how="left").drop("_key")
               .with_columns(pl.col("doc_lang").fill_null(NO_LANG)))
    return pl.concat([have, missing])


def summary(out: Path, by: tuple[str, ...] = ("shard", "step", "lang"), top: int = 3,
            shard: str | None = None, step: str | None = None, lang: str | None = None) -> pl.DataFrame:
    """in / kept / dropped / failed and the top reason kinds per group (any of shard, step, lang, source)."""
    bad = set(by) - {"shard", "step", "lang", "source"}
    if bad:
        raise AuditError(f"cannot group by {sorted(bad)}; use shard, step, lang, source")
    check_step(out, step)
    check_shard(out, shard)
    lf = (scan(out).select("shard", "id", "source", "step", "decision", "reason", "lang")
          .filter(~pl.col("step").is_in(list(LIST_STEPS))))  # titles of a list: book_coverage
    if "lang" in by or lang:  # the documents' language costs a join: only when asked for
        lf = with_doc_lang(lf, out)
    if shard:
        lf = lf.filter(pl.col("shard") == shard)
    if step:
        lf = lf.filter(pl.col("step") == step)
    if lang:
        lf = lf.filter(pl.col("doc_lang") == lang)
    keys = [("doc_lang" if k == "lang" else k) for k in by]
    # One pass over the rows into a small table (group × decision × reason kind); the rest is cheap.
    g = (lf.with_columns(reason_kind().alias("kind")).group_by(keys + ["decision", "kind"]).len()
         .collect(engine="streaming").lazy())
    counts = g.group_by(keys).agg(
        pl.col("len").sum().alias("in"),
        *[pl.col("len").filter(pl.col("decision") == d).sum().alias(d) for d in DECISIONS],
    )
    reasons = (g.filter(pl.col("kind").is_not_null()).group_by(keys + ["kind"]).agg(pl.col("len").sum().alias("n"))
               .sort(keys + ["n", "kind"], descending=[False] * len(keys) + [True, False])
               .group_by(keys, maintain_order=True).head(top)
               .group_by(keys, maintain_order=True)
               .agg(pl.format("{} ({})", "kind", "n").str.join(", ").alias("top_reasons")))
    df = counts.join(reasons, on=keys, how="left").collect()
    df = df.rename({"doc_lang": "lang"}) if "doc_lang" in df.columns else df
    df = df.with_columns(pl.col("in").cast(pl.Int64), *[pl.col(d).cast(pl.Int64) for d in DECISIONS],
                         pl.col("top_reasons").fill_null(""))
    return _order_steps(df, out, list(by))


def book_coverage(out: Path) -> list[dict]:
    """Per source with a book list: titles listed, found, missing, failed, and the missing and failed
    titles (with the reason), from the `books` rows (mmedc.audit.books.write_book_audit)."""
    folder = storage_path(out) / "audit" / "books"
    files = sorted(folder.glob("*.parquet"), key=str) if folder.exists() else []
    out_rows = []
    for f in files:
        df = pl.from_arrow(read_parquet(f, columns=["id", "source", "decision", "reason", "lang", "detail"]))
        if df.is_empty():
            continue
        titles = [json.loads(d or "{}").get("title", i) for i, d in zip(df["id"], df["detail"])]
        df = df.with_columns(pl.Series("title", titles, pl.String))
        row = {"source": df["source"][0], "listed": df.height,
               "found": df.filter(pl.col("decision") == KEPT).height,
               "missing": df.filter(pl.col("decision") == DROPPED).height,
               "failed": df.filter(pl.col("decision") == FAILED).height,
               "missing_titles": df.filter(pl.col("decision") == DROPPED)["title"].to_list(),
               "failed_titles": [{"title": t, "reason": r} for t, r in
                                 df.filter(pl.col("decision") == FAILED).select("title", "reason").iter_rows()]}
        out_rows.append(row)
    return out_rows


def coverage_line(c: dict, titles: int = 5) -> str:
    """`books (textbooks-en): 2/3 found, 1 missing, 0 failed; missing: "Title C"` (at most `titles` named)."""
    def names(items):
        shown = ", ".join(items[:titles])
        return shown + (f" and {len(items) - titles} more" if len(items) > titles else "")

    line = (f"books ({c['source']}): {c['found']}/{c['listed']} found, {c['missing']} missing, "
            f"{c['failed']} failed")
    if c["missing_titles"]:
        line += "; missing: " + names([f'"{t}"' for t in c["missing_titles"]])
    if c["failed_titles"]:
        line += "; failed: " + names([f'"{t["title"]}" ({(t["reason"] or "").split(":")[0]})'
                                      for t in c["failed_titles"]])
    return line


def _order_steps(df: pl.DataFrame, out: Path, by: list[str]) -> pl.DataFrame:
    if "step" not in df.columns:
        return df.sort(by)
    order = {s: i for i, s in enumerate(step_order(out))}
    df = df.with_columns(pl.col("step").replace_strict(order, default=len(order), return_dtype=pl.Int32).alias("_o"))
    keys = [("_o" if k == "step" else k) for k in by]
    return df.sort(keys).drop("_o")


def resolve_id(out: Path, doc_id: str) -> str:
    """The stored id for `doc_id` as a user wrote it. Ids are stored as `<source>:<id>` (the record's
    own id, or `<file>#<line>` when it has none); an unprefixed id is accepted when exactly one
    stored id ends with `:<doc_id>`; otherwise the error lists the candidates."""
    ids = scan(out).filter(pl.col("step") == "ingest").select("id")
    if not ids.filter(pl.col("id") == doc_id).head(1).collect().is_empty():
        return doc_id
    listed = scan(out).filter(pl.col("step").is_in(list(LIST_STEPS)) & (pl.col("id") == doc_id))
    if not listed.select("id").head(1).collect().is_empty():  # a book list's title row
        return doc_id
    found = (ids.filter(pl.col("id").str.ends_with(f":{doc_id}")).unique().sort("id").head(6)
             .collect()["id"].to_list())
    if len(found) == 1:
        return found[0]
    if found:
        raise AuditError(f"id {doc_id!r} is ambiguous: {', '.join(found[:5])}{' ...' if len(found) > 5 else ''}; "
                         "give the stored form <source>:<id>")
    example = ids.head(1).collect()["id"].to_list()
    raise AuditError(f"no audit row for id {doc_id!r} in {out}; ids are stored as <source>:<id>"
                     + (f", e.g. {example[0]!r}" if example else ""))


def check_step(out: Path, step: str | None) -> None:
    """An unknown step name is an error that lists the run's steps (a typo must not give an empty result)."""
    if step is None:
        return
    steps = step_order(out)
    if step not in steps:
        raise AuditError(f"unknown step {step!r}; steps of this run: {', '.join(steps)}")


def check_shard(out: Path, shard: str | None) -> None:
    if shard is None or list((Path(out) / "audit").glob(f"*/{shard}.parquet")):
        return
    names = sorted({p.stem for p in audit_files(out)})
    shown = ", ".join(names[:8]) + (f" ... ({len(names)} in all)" if len(names) > 8 else "")
    raise AuditError(f"unknown shard {shard!r}; shards of this run: {shown}")


def explain(out: Path, doc_id: str) -> pl.DataFrame:
    """Every audit row of one document (all shards holding that id), in step order; an unprefixed
    id is resolved to its stored form when unambiguous (resolve_id)."""
    doc_id = resolve_id(out, doc_id)
    df = scan(out).filter(pl.col("id") == doc_id).collect()
    return _order_steps(df, out, ["shard", "step"])


def row_scores(row: dict) -> dict:
    """The scores a row carries: typed columns that are set, plus its detail JSON."""
    scores = {k: row[k] for k in SCORE_COLUMNS if row.get(k) is not None}
    if row.get("detail"):
        try:
            scores.update(json.loads(row["detail"]))
        except json.JSONDecodeError:
            scores["detail"] = row["detail"]
    return scores


def texts(out: Path, keys: pl.DataFrame) -> pl.DataFrame:
    """Texts of the given (shard, id) rows: kept documents from work/filtered; the others (only kept
    text is written) read again from the shard's input, as its marker names it."""
    parts = []
    for sh in keys["shard"].unique().sort().to_list():
        ids = set(keys.filter(pl.col("shard") == sh)["id"].to_list())
        p = storage_path(out) / "work" / "filtered" / f"{sh}.parquet"
        got = pl.DataFrame(schema={"id": pl.String, "text": pl.String, "url": pl.String})
        if p.exists():
            got = pl.read_parquet(str(p), columns=["id", "text", "url"]).filter(pl.col("id").is_in(list(ids)))
        missing = ids - set(got["id"].to_list())
        if missing:
            got = pl.concat([got, _reread(storage_path(out), sh, missing)])
        parts.append(got.with_columns(pl.lit(sh).alias("shard")))
    if not parts:
        return pl.DataFrame(schema={"id": pl.String, "text": pl.String, "url": pl.String, "shard": pl.String})
    return pl.concat(parts)


def _reread(out: Path, shard: str, ids: set[str]) -> pl.DataFrame:
    """Documents of one shard read again from its input file (or part), as the run read them: with the
    run's `[limits]` (a run before they were kept in work/recipe.json: the defaults), each record checked
    as at ingest, so a document the run failed over a limit has no text here either."""
    from mmedc.config import LimitsConfig, OcrConfig, RecipeError, SourceConfig
    from mmedc.sources.registry import read_file

    empty = pl.DataFrame(schema={"id": pl.String, "text": pl.String, "url": pl.String})
    try:
        state = json.loads((out / "work" / "recipe.json").read_text())
        inp = json.loads((out / "work" / "done" / "filter" / f"{shard}.json").read_text())["input"]
        src = SourceConfig(**state["sources"][inp["source"]])
        limits = LimitsConfig(**state.get("limits", {}))
    except (OSError, KeyError, IndexError, TypeError, RecipeError, json.JSONDecodeError):
        return empty
    rows = []
    part = tuple(inp["part"]) if inp.get("part") else None
    for rec in read_file(src, inp["path"], OcrConfig(**state.get("ocr", {})), part, limits):
        rec = rec.checked(limits.max_doc_chars, limits.max_id_chars)
        if rec.id in ids and rec.text is not None:
            rows.append({"id": rec.id, "text": rec.text, "url": rec.url if isinstance(rec.url, str) else None})
            if len(rows) == len(ids):
                break
    return pl.DataFrame(rows, schema=empty.schema) if rows else empty


def sample(out: Path, step: str, decision: str | None = None, reason: str | None = None,
           where: str | None = None, lang: str | None = None, n: int = 10, sort: str | None = None,
           descending: bool = False, seed: int | None = 0, doc_id: str | None = None) -> pl.DataFrame:
    """Up to n audit rows of a step matching the filters, with the documents' text.

    reason: a substring of the reason; where: a SQL expression over audit columns
    (e.g. "medical_density > 0.03 AND medical_hits >= 3"); sort: a column to order by (else a
    random sample, reproducible with seed); doc_id: one document (resolved as in explain)."""
    check_step(out, step)
    lf = with_doc_lang(scan(out), out).filter(pl.col("step") == step)
    columns = list(polars_schema()) + ["doc_lang"]
    if doc_id:
        lf = lf.filter(pl.col("id") == resolve_id(out, doc_id))
    if decision:
        if decision not in DECISIONS:
            raise AuditError(f"decision must be one of {DECISIONS}")
        lf = lf.filter(pl.col("decision") == decision)
    if reason:
        lf = lf.filter(pl.col("reason").str.contains(reason, literal=True))
    if lang:
        lf = lf.filter(pl.col("doc_lang") == lang)
    if sort and sort not in columns:
        raise AuditError(f"unknown column {sort!r}; columns: {', '.join(columns)}")
    if where:
        try:
            expr = pl.sql_expr(where)
            unknown = sorted(set(expr.meta.root_names()) - set(columns))
        except Exception as e:  # noqa: BLE001 - a bad expression is the user's input: say so
            raise AuditError(f"bad --where expression {where!r}: {_first_line(e)}") from None
        if unknown:
            raise AuditError(f"--where: unknown column(s) {', '.join(unknown)}; columns: {', '.join(columns)}")
        lf = lf.filter(expr)
    try:
        df = lf.collect()
    except pl.exceptions.PolarsError as e:
        raise AuditError(f"cannot apply filters: {_first_line(e)}") from None
    if sort:
        df = df.sort(sort, descending=descending, nulls_last=True).head(n)
    elif df.height > n:
        df = df.sample(n, seed=seed).sort("shard", "id")
    return df.join(texts(out, df.select("shard", "id")), on=["shard", "id"], how="left")


def _first_line(e: BaseException) -> str:
    """Polars errors carry the query plan after the first line: the user needs the first line only."""
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def decisions(out: Path) -> pl.DataFrame:
    """One row per (shard, id, step): the decision and language, for diffs."""
    return with_doc_lang(scan(out).select("shard", "id", "step", "decision", "lang"), out).drop("lang").collect()


def diff(out_a: Path, out_b: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """What changed between two runs.

    Returns (counts, changes): counts per step × language of kept/dropped/failed in A and B with the
    difference; changes: documents whose decision at a step differs (or that exist in one run only),
    keyed by id and step (shard names may differ between runs of different inputs)."""
    a, b = decisions(out_a), decisions(out_b)

    def count(df):
        return df.group_by("step", "doc_lang").agg(*[(pl.col("decision") == d).sum().cast(pl.Int64).alias(d) for d in DECISIONS])

    ca, cb = count(a), count(b)
    counts = ca.join(cb, on=["step", "doc_lang"], how="full", coalesce=True, suffix="_b").fill_null(0)
    counts = counts.rename({d: f"{d}_a" for d in DECISIONS}).rename({"doc_lang": "lang"})
    counts = counts.with_columns(*[(pl.col(f"{d}_b") - pl.col(f"{d}_a")).alias(f"{d}_delta") for d in DECISIONS])
    counts = counts.select("step", "lang", *[f"{d}_{s}" for d in DECISIONS for s in ("a", "b", "delta")])
    order = {s: i for i, s in enumerate(step_order(out_a) + [s for s in step_order(out_b) if s not in step_order(out_a)])}
    counts = counts.with_columns(pl.col("step").replace_strict(order, default=len(order), return_dtype=pl.Int32).alias("_o")).sort("_o", "lang").drop("_o")
    keys = ["id", "step"]
    ja = a.unique(keys, keep="first").select(*keys, pl.col("decision").alias("a"), pl.col("doc_lang").alias("lang_a"))
    jb = b.unique(keys, keep="first").select(*keys, pl.col("decision").alias("b"), pl.col("doc_lang").alias("lang_b"))
    changes = (ja.join(jb, on=keys, how="full", coalesce=True)
               .filter(pl.col("a").is_null() | pl.col("b").is_null() | (pl.col("a") != pl.col("b")))
               .with_columns(pl.coalesce("lang_a", "lang_b").alias("lang"), pl.col("a").fill_null("absent"),
                             pl.col("b").fill_null("absent"))
               .select("step", "lang", "id", "a", "b").sort("step", "lang", "id"))
    return counts, changes


__all__ = ["scan", "step_order", "summary", "book_coverage", "coverage_line", "explain", "sample", "diff", "texts", "row_scores", "resolve_id",
           "AuditError", "KEPT", "DROPPED", "FAILED"]
