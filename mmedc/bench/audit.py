"""`mmedc audit summary` on a generated audit of 5 million rows, next to the same query in pyarrow.

The audit is generated in the run layout (OUT/audit/<step>/<shard>.parquet plus completion markers)
with a realistic funnel: 1.25 million documents in 200 shards through ingest → langid → medical →
dedup → tokenize, six languages, reasons of every kind. Baseline: the same summary (per shard ×
step × language: in, kept, dropped, failed, top reasons) written directly against pyarrow (Acero
group-by and join), the obvious alternative without polars. Both answers are compared.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mmedc.bench.timing import best_of

from mmedc.audit.schema import AUDIT_SCHEMA

SHARDS = 200
DOCS_PER_SHARD = 6_250  # 1.25 M documents → ~5.0 M audit rows
LANGS = ["en", "zh", "ja", "fr", "ru", "es"]
# step: (P(dropped), P(failed), reasons for dropped)
STEPS = {
    "ingest": (0.01, 0.01, ["not_html: image/png", "empty_text: no text extracted"]),
    "langid": (0.06, 0.0, ["lang_not_selected: de", "low_lang_score: 0.41 < 0.5"]),
    "medical": (0.35, 0.0, ["not_medical: hits 2 (min 5), density 0.0100 (min 0.04)"]),
    "dedup": (0.08, 0.0, ["duplicate_exact: of x", "duplicate_near: of y"]),
    "tokenize": (0.0, 0.0, []),
}


def generate(out: Path, seed: int = 0) -> int:
    """Write the audit; returns its row count. Conservation holds: a step sees the kept of the one before."""
    rng = np.random.default_rng(seed)
    rows = 0
    for s in range(SHARDS):
        shard = f"gen-{s:05d}"
        ids = np.array([f"{shard}:{i}" for i in range(DOCS_PER_SHARD)], dtype=object)
        lang = np.array(LANGS, dtype=object)[rng.integers(0, len(LANGS), DOCS_PER_SHARD)]
        counts = {}
        for step, (p_drop, p_fail, reasons) in STEPS.items():
            n = len(ids)
            u = rng.random(n)
            decision = np.where(u < p_fail, "failed", np.where(u < p_fail + p_drop, "dropped", "kept")).astype(object)
            reason = np.full(n, None, dtype=object)
            if reasons:
                pick = np.array(reasons, dtype=object)[rng.integers(0, len(reasons), n)]
                reason = np.where(decision == "dropped", pick, reason)
            reason = np.where(decision == "failed", "step_error: ValueError", reason)
            cols = {"shard": pa.array([shard] * n, pa.string()), "id": pa.array(ids, pa.string()),
                    "source": pa.array(["corpus"] * n, pa.string()), "step": pa.array([step] * n, pa.string()),
                    "decision": pa.array(decision, pa.string()), "reason": pa.array(reason, pa.string()),
                    "lang": pa.array(lang if step != "ingest" else [None] * n, pa.string())}
            if step == "medical":
                cols["medical_density"] = pa.array(rng.random(n).astype(np.float32) * 0.2)
                cols["medical_hits"] = pa.array(rng.integers(0, 30, n).astype(np.int32))
            table = pa.table({f.name: cols.get(f.name, pa.nulls(n, f.type)) for f in AUDIT_SCHEMA}, schema=AUDIT_SCHEMA)
            (out / "audit" / step).mkdir(parents=True, exist_ok=True)
            pq.write_table(table, out / "audit" / step / f"{shard}.parquet", compression="zstd")
            counts[step] = {d: int((decision == d).sum()) for d in ("kept", "dropped", "failed")}
            rows += n
            keep = decision == "kept"
            ids, lang = ids[keep], lang[keep]
        for stage, steps in (("ingest", ["ingest"]), ("filter", ["langid", "medical"]), ("finalize", ["dedup", "tokenize"])):
            d = out / "work" / "done" / stage
            d.mkdir(parents=True, exist_ok=True)
            (d / f"{shard}.json").write_text(json.dumps({"stage": stage, "shard": shard, "counts": {k: counts[k] for k in steps}}))
    return rows


def pyarrow_summary(out: Path) -> pa.Table:
    """The baseline: the same summary with pyarrow's Acero engine (no polars)."""
    files = sorted(str(p) for p in (out / "audit").glob("*/*.parquet"))
    t = pa.concat_tables(pq.read_table(f, columns=["shard", "id", "step", "decision", "reason", "lang"]) for f in files)
    doc_lang = t.group_by(["shard", "id"]).aggregate([("lang", "min")]).rename_columns(["shard", "id", "doc_lang"])
    t = t.join(doc_lang, ["shard", "id"])
    t = t.set_column(t.schema.get_field_index("doc_lang"), "doc_lang", pc.fill_null(t["doc_lang"], "?"))
    for d in ("kept", "dropped", "failed"):
        t = t.append_column(d, pc.cast(pc.equal(t["decision"], d), pa.int64()))
    keys = ["shard", "step", "doc_lang"]
    counts = t.group_by(keys).aggregate([("id", "count"), ("kept", "sum"), ("dropped", "sum"), ("failed", "sum")])
    kind = pc.utf8_trim_whitespace(pc.list_element(pc.split_pattern(t["reason"], ":"), 0))
    r = t.append_column("kind", kind).filter(pc.is_valid(kind)).group_by(keys + ["kind"]).aggregate([("id", "count")])
    r = r.sort_by([(k, "ascending") for k in keys] + [("id_count", "descending")])
    return counts.join(r.group_by(keys, use_threads=False).aggregate([("kind", "first")]), keys)


def run():
    from rich.console import Console
    from rich.table import Table

    from mmedc.audit.query import summary

    tmp = Path(tempfile.mkdtemp(prefix="mmedc-bench-audit-"))
    try:
        t0 = time.perf_counter()
        rows = generate(tmp)
        gen_s = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in (tmp / "audit").rglob("*.parquet"))
        ours_s, ours = best_of(lambda: summary(tmp), 2)
        step_s, _ = best_of(lambda: summary(tmp, by=("step", "lang")), 2)
        shard_s, _ = best_of(lambda: summary(tmp, by=("shard", "step")), 2)
        base_s, base = best_of(lambda: pyarrow_summary(tmp), 2)
        same = (ours.height == base.num_rows and int(ours["kept"].sum()) == pc.sum(base["kept_sum"]).as_py()
                and int(ours["in"].sum()) == pc.sum(base["id_count"]).as_py() == rows)
        table = Table(title=f"audit summary over {rows:,} rows ({SHARDS * len(STEPS)} files, {size / 2**20:.0f} MiB), "
                            f"{os.cpu_count()} cores; generated in {gen_s:.1f}s")
        for c in ("implementation", "groups", "seconds (best of 2)", "rows/s"):
            table.add_column(c, justify="left" if c == "implementation" else "right")
        table.add_row("mmedc audit summary (polars, shard×step×lang)", f"{ours.height:,}", f"{ours_s:.2f}", f"{rows / ours_s:,.0f}")
        table.add_row("mmedc audit summary --by step,lang", "", f"{step_s:.2f}", f"{rows / step_s:,.0f}")
        table.add_row("mmedc audit summary --by shard,step (no language join)", "", f"{shard_s:.2f}", f"{rows / shard_s:,.0f}")
        table.add_row("baseline: pyarrow Acero, same query", f"{base.num_rows:,}", f"{base_s:.2f}", f"{rows / base_s:,.0f}")
        Console(width=110).print(table)
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(f"speed-up over the baseline (shard×step×lang): {base_s / ours_s:.1f}x; same counts: {same}; "
              f"load average during the run: {load:.1f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
