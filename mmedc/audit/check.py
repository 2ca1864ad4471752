"""`mmedc audit check`: the run's invariants, verified from its files alone.

1. conservation: for every shard and step, in = kept + dropped + failed, where a step's in is the
   previous step's kept (the first step's in is whatever it read);
2. the completion markers' counts agree with the audit rows (a task's audit was fully written);
3. every shard in manifest.json exists with the recorded sha256 and row count, and holds exactly
   the documents the last step kept;
4. no document is both kept at the end and dropped or failed at some step;
5. every document dropped as a duplicate points at a document the run kept (not at itself);
6. a book list's rows (audit/books, outside the chain: not in 1.) name each title once, and the
   documents of a title found were kept at ingest.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from mmedc.audit.query import audit_files, scan, step_order
from mmedc.core.storage import path as storage_path
from mmedc.audit.schema import DECISIONS, KEPT, LIST_STEPS


@dataclass
class CheckResult:
    violations: list[str] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.violations

    def fail(self, msg: str):
        self.violations.append(msg)


def _counts(out: Path) -> pl.DataFrame:
    return (scan(out).group_by("shard", "step")
            .agg(*[(pl.col("decision") == d).sum().cast(pl.Int64).alias(d) for d in DECISIONS],
                 pl.len().cast(pl.Int64).alias("rows"))
            .collect())


def check_conservation(out: Path, steps: list[str], res: CheckResult):
    counts = {(r["shard"], r["step"]): r for r in _counts(out).iter_rows(named=True)}
    shards = sorted({s for s, st in counts if st not in LIST_STEPS})  # a list's rows are not a unit's
    for shard in shards:
        prev = None
        for step in steps:
            c = counts.get((shard, step), {"rows": 0, KEPT: 0})
            if prev is not None and c["rows"] != prev[1]:
                res.fail(f"conservation: shard {shard} step {step}: {c['rows']} in (kept+dropped+failed) "
                         f"but {prev[0]} kept {prev[1]}")
            prev = (step, c[KEPT])
    res.checked["shards"] = len(shards)
    res.checked["steps"] = len(steps)
    # Marker counts (written by each task as it finished) must match what its audit file holds.
    done = storage_path(out) / "work" / "done"
    n = 0
    audited: dict[str, set] = {}  # stage -> shards with a marker, for stages that audit per shard
    for p in sorted(done.glob("*/*.json"), key=str):
        m = json.loads(p.read_text())
        if m.get("counts"):
            audited.setdefault(m.get("stage", p.parent.name), set()).add(m.get("shard"))
        for step, want in (m.get("counts") or {}).items():
            have = counts.get((m.get("shard"), step), {d: 0 for d in DECISIONS})
            got = {d: have[d] for d in DECISIONS}
            n += 1
            if got != {d: want.get(d, 0) for d in DECISIONS}:
                res.fail(f"marker {p.parent.name}/{p.name}: step {step} counts {want} but the audit has {got}")
    res.checked["marker_counts"] = n
    # A finished run has every per-shard stage's marker for every shard (none lost in a crash), and
    # every unit the run planned (work/units.json) has its filter and finalize markers.
    every = set().union(*audited.values()) if audited else set()
    planned_file = storage_path(out) / "work" / "units.json"
    if planned_file.exists():
        planned = {u["shard"] for u in json.loads(planned_file.read_text())}
        every |= planned
        for stage in ("filter", "finalize"):
            audited.setdefault(stage, set())
        res.checked["planned_units"] = len(planned)
    for stage, have in sorted(audited.items()):
        if every - have:
            res.fail(f"stage {stage}: no completion marker for {len(every - have)} shard(s), "
                     f"e.g. {sorted(every - have)[:3]} (an unfinished run: re-run it)")


def _downsampled(manifest: dict) -> bool:
    """True when the recorded mixture drops documents on purpose (a factor below 1)."""
    mix = manifest.get("mixture") or {}
    return any(isinstance(v, dict) and float(v.get("factor", 1)) < 1
               for part in mix.values() if isinstance(part, dict) for v in part.values())


def check_manifest(out: Path, steps: list[str], res: CheckResult):
    from mmedc.shards.manifest import sha256_file

    path = storage_path(out) / "manifest.json"
    if not path.exists():
        res.fail(f"manifest.json missing in {out}")
        return
    manifest = json.loads(path.read_text())
    listed, parts = set(), []
    for s in manifest.get("shards", []):
        f = storage_path(out) / s["file"]
        listed.add(f.name)
        if not f.exists():
            res.fail(f"manifest: {s['file']} does not exist")
            continue
        if sha256_file(f) != s["sha256"]:
            res.fail(f"manifest: {s['file']} sha256 differs from the recorded {s['sha256'][:12]}…")
        cols = [c for c in ("id", "copy") if c in pq_names(f)]
        t = pl.read_parquet(str(f), columns=cols)
        if t.height != s.get("rows", t.height):
            res.fail(f"manifest: {s['file']} has {t.height} rows, manifest says {s['rows']}")
        parts.append(t if "copy" in cols else t.with_columns(pl.lit(0).alias("copy")))
    for f in sorted((storage_path(out) / "shards").glob("*.parquet"), key=str):
        if f.name not in listed:
            res.fail(f"manifest: shards/{f.name} exists but is not listed")
    res.checked["manifest_shards"] = len(manifest.get("shards", []))
    # The shards hold exactly the documents the last step kept (each copy of an up-sampled one once).
    rows = pl.concat([p.select(pl.col("id").cast(pl.String), pl.col("copy").cast(pl.Int64)) for p in parts]) \
        if parts else pl.DataFrame(schema={"id": pl.String, "copy": pl.Int64})
    dup = rows.height - rows.unique().height
    if dup:
        res.fail(f"shards: {dup} document(s) written twice (same id and copy)")
    if not steps:
        return
    kept_end = set(scan(out).filter((pl.col("step") == steps[-1]) & (pl.col("decision") == KEPT))
                   .select("id").collect()["id"].to_list())
    out_ids = set(rows["id"].to_list())
    extra, missing = sorted(out_ids - kept_end), sorted(kept_end - out_ids)
    if extra:
        res.fail(f"shards: {len(extra)} document(s) not kept by the last step ({steps[-1]}), e.g. {extra[:3]}")
    if missing and not _downsampled(manifest):
        res.fail(f"shards: {len(missing)} document(s) kept by the last step ({steps[-1]}) are in no shard, "
                 f"e.g. {missing[:3]}")
    elif missing:
        res.checked["downsampled_docs"] = len(missing)


def pq_names(path: Path) -> list[str]:
    from mmedc.core.storage import parquet_file

    return parquet_file(path).schema_arrow.names


def check_kept_not_dropped(out: Path, steps: list[str], res: CheckResult):
    if not steps:
        return
    lf = scan(out).select("shard", "id", "step", "decision")
    # A document is an id in a unit: a copy of its id in another unit may be dropped (duplicate_id).
    kept_end = lf.filter((pl.col("step") == steps[-1]) & (pl.col("decision") == KEPT)).select("shard", "id").unique()
    bad = (lf.filter(pl.col("decision") != KEPT).join(kept_end, on=["shard", "id"], how="semi")
           .select("id", "step", "decision").unique().sort("id", "step").collect())
    for r in bad.head(20).iter_rows(named=True):
        res.fail(f"id {r['id']} is kept at the end but {r['decision']} at step {r['step']}")
    if bad.height > 20:
        res.fail(f"... and {bad.height - 20} more ids kept at the end but dropped somewhere")
    res.checked["kept_docs"] = kept_end.collect().height


def check_duplicates(out: Path, res: CheckResult):
    """A document dropped as a duplicate points (`cluster`) at the document kept in its place. With the
    run's own dedup index (work/dedup/index), that document must be one this run kept, never itself.
    (An external index of an earlier release may hold the same ids: then this check is skipped.)"""
    if not (storage_path(out) / "work" / "dedup" / "index").exists():
        return
    lf = scan(out).select("id", "step", "decision", "cluster")
    dups = lf.filter((pl.col("decision") == "dropped") & pl.col("cluster").is_not_null()).collect()
    if dups.is_empty():
        return
    kept = set(lf.filter(pl.col("decision") == KEPT).select("id").unique().collect()["id"].to_list())
    step_ids = set(lf.filter(pl.col("step").is_in(dups["step"].unique().implode())).select("id").unique()
                   .collect()["id"].to_list())
    bad = dups.filter((pl.col("cluster") == pl.col("id"))
                      | (pl.col("cluster").is_in(list(step_ids)) & ~pl.col("cluster").is_in(list(kept))))
    for r in bad.head(10).iter_rows(named=True):
        res.fail(f"id {r['id']} dropped at step {r['step']} as a duplicate of "
                 f"{'itself' if r['cluster'] == r['id'] else r['cluster'] + ', which this run did not keep'}")
    if bad.height > 10:
        res.fail(f"... and {bad.height - 10} more duplicates without a kept original")
    res.checked["duplicates"] = dups.height


def check_books(out: Path, res: CheckResult):
    """Book-list rows (mmedc.audit.books.write_book_audit) agree with the ingest rows they name."""
    rows = (scan(out).filter(pl.col("step").is_in(list(LIST_STEPS))).select("shard", "id", "decision", "detail")
            .collect())
    if rows.is_empty():
        return
    if rows.height != rows.select("shard", "id").n_unique():
        res.fail(f"books: {rows.height - rows.select('shard', 'id').n_unique()} title row(s) written twice")
    named = {r["id"]: json.loads(r["detail"] or "{}").get("documents") or []
             for r in rows.filter(pl.col("decision") == KEPT).iter_rows(named=True)}
    ids = sorted({d for docs in named.values() for d in docs})
    kept = set(scan(out).filter((pl.col("step") == "ingest") & (pl.col("decision") == KEPT)
                                & pl.col("id").is_in(ids)).select("id").collect()["id"].to_list())
    for title, docs in named.items():
        if not docs:
            res.fail(f"books: {title} is found but names no document")
        for d in docs:
            if d not in kept:
                res.fail(f"books: {title} is found as document {d}, which ingest did not keep")
    res.checked["book_titles"] = rows.height


def check(out: Path) -> CheckResult:
    res = CheckResult()
    out = storage_path(out)
    if not audit_files(out):
        res.fail(f"no audit files under {out / 'audit'}")
        return res
    steps = step_order(out)
    res.checked["rows"] = scan(out).select(pl.len()).collect().item()
    check_conservation(out, steps, res)
    check_manifest(out, steps, res)
    check_kept_not_dropped(out, steps, res)
    check_duplicates(out, res)
    check_books(out, res)
    return res
