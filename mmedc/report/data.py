"""The report's figures, computed from a run folder: audit, output shards, manifest, language packs."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl

from mmedc.audit.query import NO_LANG, book_coverage, reason_kind, scan, step_order, summary, with_doc_lang
from mmedc.core.storage import path as storage_path

# Score columns drawn as histograms: (step, column, threshold: a pack attribute or a number, label,
# medical classifier the column belongs to or None). The medical step draws the scores its classifier
# decided on: `terms` decides on medical_score >= 1, the paper's rule on U and D.
HISTOGRAMS = [
    ("langid", "lang_score", "lid_min_score", "language ID score", None),
    ("medical", "medical_score", 1.0, "medical score (terms: evidence / evidence needed; medical at >= 1)", "terms"),
    ("medical", "medical_density", "min_density", "medical keyword density D (the MMedC rule)", "mmedc"),
    ("medical", "medical_hits", "min_unique", "unique medical keywords U (the MMedC rule)", "mmedc"),
]
BINS = 20


def _pack_thresholds(langs: list[str]) -> dict[str, object]:
    """Language packs by code (None where a language has no pack, e.g. one LID found but not selected)."""
    from mmedc.classify.packs import PackError, load_pack

    packs = {}
    for code in langs:
        try:
            packs[code] = load_pack(code)
        except (PackError, OSError):
            packs[code] = None
    return packs


def funnel(out: Path) -> tuple[list[str], list[str], dict]:
    """steps, languages, {(step, lang): {in, kept, dropped, failed}}."""
    df = summary(out, by=("step", "lang"), top=0)
    steps = [s for s in step_order(out) if s in set(df["step"])]
    langs = sorted(set(df["lang"]) - {NO_LANG}) + ([NO_LANG] if NO_LANG in set(df["lang"]) else [])
    cells = {(r["step"], r["lang"]): r for r in df.iter_rows(named=True)}
    return steps, langs, cells


def worst_shards(out: Path, n: int = 15) -> pl.DataFrame:
    """Shards that lost the largest share of their documents between the first and last step."""
    df = summary(out, by=("shard", "step"), top=2)
    steps = step_order(out)
    if df.is_empty() or not steps:
        return df
    first = df.filter(pl.col("step") == steps[0]).select("shard", pl.col("in").alias("docs_in"))
    last = df.filter(pl.col("step") == steps[-1]).select("shard", pl.col("kept").alias("docs_out"))
    reasons = (df.filter(pl.col("top_reasons") != "").group_by("shard", maintain_order=True)
               .agg(pl.format("{}: {}", "step", "top_reasons").str.join("; ").alias("why")))
    return (first.join(last, on="shard", how="left").fill_null(0)
            .with_columns((1 - pl.col("docs_out") / pl.col("docs_in").clip(1)).alias("lost"))
            .join(reasons, on="shard", how="left").with_columns(pl.col("why").fill_null(""))
            .sort("lost", "shard", descending=[True, False]).head(n))


def tokens(out: Path) -> pl.DataFrame:
    """Documents and tokens by language × source, from the output shards (what training sees)."""
    files = sorted((storage_path(out) / "shards").glob("*.parquet"), key=str)
    if not files:
        return pl.DataFrame(schema={"lang": pl.String, "source": pl.String, "docs": pl.Int64, "tokens": pl.Int64})
    return (pl.scan_parquet([str(f) for f in files]).select("lang", "source", "n_tokens")
            .group_by("lang", "source").agg(pl.len().cast(pl.Int64).alias("docs"),
                                             pl.col("n_tokens").sum().cast(pl.Int64).alias("tokens"))
            .sort("lang", "source").collect())


def histograms(out: Path) -> list[dict]:
    """Per score and language: bin edges, counts, and the threshold the documents were judged by."""
    cols = {c for _, c, _, _, _ in HISTOGRAMS}
    lf = with_doc_lang(scan(out).select("shard", "id", "step", "lang", "detail", *cols), out).with_columns(
        pl.col("detail").str.json_path_match("$.classifier").fill_null("").alias("classifier"))
    found = []
    for step, col, thr_of, label, classifier in HISTOGRAMS:
        sel = (pl.col("step") == step) & pl.col(col).is_not_null()
        if classifier is not None:
            sel &= pl.col("classifier") == classifier
        df = lf.filter(sel).select("doc_lang", col).collect()
        if df.is_empty():
            continue
        packs = _pack_thresholds(sorted(set(df["doc_lang"])))
        for lang in sorted(set(df["doc_lang"])):
            vals = df.filter(pl.col("doc_lang") == lang)[col].cast(pl.Float64)
            pack = packs.get(lang)
            if isinstance(thr_of, str):
                v = getattr(pack, thr_of, None) if pack is not None else None
                thr = float(v) if v is not None else None
            else:
                thr = float(thr_of)
            hi = max(float(vals.quantile(0.98) or 0), (thr or 0) * 2, 1e-9)
            if col == "lang_score":
                hi = 1.0
            edges = [hi * i / BINS for i in range(BINS + 1)]
            # Values above the range land in the last bin.
            idx = np.clip((vals.to_numpy() / hi * BINS).astype(np.int64), 0, BINS - 1)
            counts = np.bincount(idx, minlength=BINS).tolist()
            found.append({"step": step, "column": col, "label": label, "lang": lang, "edges": edges,
                          "counts": counts, "threshold": thr, "n": len(vals),
                          "below": int((vals < thr).sum()) if thr is not None else None})
    return found


def ocr_books(out: Path) -> list[dict]:
    """Books (PDF shards) with their pages, OCR'd pages and mean OCR confidence, from ingest rows."""
    df = (scan(out).filter((pl.col("step") == "ingest") & pl.col("detail").str.contains("ocr", literal=True))
          .select("id", "source", "decision", "detail").collect())
    books = []
    for r in df.iter_rows(named=True):
        try:
            d = json.loads(r["detail"])
        except json.JSONDecodeError:
            continue
        if "mean_ocr_confidence" not in d and not d.get("ocr_pages"):
            continue
        books.append({"id": r["id"], "source": r["source"], "file": d.get("file") or r["id"],
                      "pages": d.get("pages"), "ocr_pages": d.get("ocr_pages", 0),
                      "confidence": d.get("mean_ocr_confidence"), "decision": r["decision"]})
    return sorted(books, key=lambda b: b["id"])


def duplicates(out: Path) -> pl.DataFrame:
    """Per source: documents into dedup, and those dropped as exact / near duplicates."""
    df = scan(out).filter(pl.col("step") == "dedup").select("source", "decision", reason_kind().alias("kind")).collect()
    if df.is_empty():
        return pl.DataFrame(schema={"source": pl.String, "in": pl.Int64})
    wide = df.group_by("source").agg(pl.len().cast(pl.Int64).alias("in"),
                                     *[(pl.col("kind") == k).sum().cast(pl.Int64).alias(k)
                                       for k in sorted(set(df["kind"].drop_nulls()))])
    return wide.sort("source")


def gather(out: Path) -> dict:
    out = storage_path(out)  # a local folder or a URI
    mpath = out / "manifest.json"
    manifest = json.loads(mpath.read_text()) if mpath.exists() else {}
    steps, langs, cells = funnel(out)
    return {"out": str(out), "manifest": manifest, "steps": steps, "langs": langs, "funnel": cells,
            "worst_shards": worst_shards(out), "tokens": tokens(out), "histograms": histograms(out),
            "ocr": ocr_books(out), "duplicates": duplicates(out), "books": book_coverage(out)}
