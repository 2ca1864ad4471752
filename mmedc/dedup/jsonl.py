"""`mmedc dedup IN.jsonl -o OUT.jsonl`: the same distributed dedup on a JSONL or Parquet file, outside a recipe.

Records are cut into shards of `shard_size`, signed in parallel Ray tasks, clustered with
mmedc.dedup.cluster, and written back in input order with `duplicate` and `cluster` added.
A line the shared loose-file reader (mmedc.sources.jsonl) cannot read, or one without text, is
written in its place as its error record ({"line": N, "error": ...}, the record's fields when it had any).
"""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq

from mmedc.config import DedupConfig
from mmedc.core.files import atomic_write_parquet
from mmedc.sources.jsonl import read_records


def _sign(cfg: DedupConfig, docs: list[dict], path: str):
    from mmedc.dedup.minhash import signature_table

    atomic_write_parquet(signature_table(docs, cfg, None), Path(path))


def _cjk_of(rec: dict) -> dict:
    """A record's `lang`, when it names a language pack, decides CJK shingling; else the script does."""
    from mmedc.classify.packs import PackError, load_pack

    lang = rec.get("lang")
    if isinstance(lang, str) and lang:
        try:
            return {"_cjk": load_pack(lang).cjk}
        except PackError:
            pass
    return {}


def dedup_jsonl(inp: Path, out: Path, cfg: DedupConfig, index: Path | None = None,
                shard_size: int = 20000, progress: bool = True) -> dict:
    from rich.progress import Progress

    from mmedc.dedup.cluster import run_plan
    from mmedc.dedup.index import make_plan
    from mmedc.executor import current

    ex = current()

    inp, out = Path(inp), Path(out)
    work = out.with_name(f".{out.name}.dedup-work")
    shutil.rmtree(work, ignore_errors=True)
    refs, shards, ids, errors, buf = [], [], [], {}, []
    seen: dict[str, int] = {}
    n_docs = 0

    def flush():
        name = f"part-{len(shards):05d}"
        sig = work / "sig" / f"{name}.parquet"
        refs.append(ex.submit(_sign, cfg, list(buf), str(sig), name="dedup-sign"))
        shards.append((name, str(sig), str(work / "decisions" / f"{name}.parquet")))
        buf.clear()

    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task("reading + signing", total=None)
        for item in read_records(inp):
            n, rec = item.n, item.obj
            if item.error:
                errors[n] = item.error
                ids.append(None)
                continue
            rid = str(rec.get("id", f"{item.unit}-{n}"))
            if rid in seen:  # ids must be unique: the cluster field names documents by id
                errors[n] = f"duplicate_id: {rid!r} already on {item.unit} {seen[rid]}"
                ids.append(None)
                continue
            seen[rid] = n
            ids.append(rid)
            buf.append({"id": rid, "text": rec["text"], **_cjk_of(rec)})
            n_docs += 1
            if len(buf) >= shard_size:
                flush()
            bar.advance(task)
        if buf or not shards:
            flush()
        for h in refs:
            ex.result(h)
        bar.update(task, description="clustering")
        batch = "jsonl-" + hashlib.sha1(str(inp.resolve()).encode()).hexdigest()[:12]
        plan = make_plan(cfg, work / "stages", shards, n_docs, index, batch)
        summary = ex.result(ex.submit(run_plan, plan, name="dedup", num_cpus=0))
    cluster_of = {}
    for _, _, dec in shards:
        for r in pq.read_table(dec, columns=["id", "cluster"]).to_pylist():
            cluster_of[r["id"]] = r["cluster"]
    tmp = out.with_name(f".{out.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as w:
        for k, item in enumerate(read_records(inp)):
            rid = ids[k]
            if rid is None:
                item.error = errors[item.n]
                rec = {**item.error_record(), "duplicate": False, "cluster": None}
            else:
                rec = {**item.obj, "duplicate": rid in cluster_of, "cluster": cluster_of.get(rid, rid)}
            w.write(json.dumps(rec, ensure_ascii=False, default=str) + "\n")
    tmp.replace(out)
    shutil.rmtree(work, ignore_errors=True)
    first = [f"{inp.name}:{n}: {why}" for n, why in list(errors.items())[:10]]
    return {**summary, "documents": n_docs, "errors": len(errors), "first_errors": first}
