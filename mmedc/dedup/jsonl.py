"""`mmedc dedup IN.jsonl -o OUT.jsonl`: the same distributed dedup on a JSONL file, outside a recipe.

Records are cut into shards of `shard_size`, signed in parallel Ray tasks, clustered with
mmedc.dedup.cluster, and written back in input order with `duplicate` and `cluster` added.
A line that is not a JSON object, or has no text, is passed through with an `error` field.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq

from mmedc.config import DedupConfig
from mmedc.core.files import atomic_write_parquet
from mmedc.sources.jsonl import open_jsonl


def _parse(line: str, n: int) -> tuple[dict | None, str | None]:
    try:
        rec = json.loads(line)
    except json.JSONDecodeError as e:
        return None, f"invalid_json: {e.msg} at line {n}"
    if not isinstance(rec, dict):
        return None, f"not_an_object: line {n}"
    if not isinstance(rec.get("text"), str):
        return rec, f"no_text: line {n} has no string `text`"
    return rec, None


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
        with open_jsonl(inp) as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                rec, err = _parse(line, n)
                if err:
                    errors[n] = err
                    ids.append(None)
                    continue
                rid = str(rec.get("id", f"line-{n}"))
                if rid in seen:  # ids must be unique: the cluster field names documents by id
                    errors[n] = f"duplicate_id: {rid!r} already on line {seen[rid]}"
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
    with open_jsonl(inp) as f, open(tmp, "w", encoding="utf-8") as w:
        k = 0
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            rid = ids[k]
            k += 1
            if rid is None:
                rec, _ = _parse(line, n)
                rec = rec if isinstance(rec, dict) else {"line": n}
                rec.update({"error": errors[n], "duplicate": False, "cluster": None})
            else:
                rec = json.loads(line)
                rec.update({"duplicate": rid in cluster_of, "cluster": cluster_of.get(rid, rid)})
            w.write(json.dumps(rec, ensure_ascii=False) + "\n")
    tmp.replace(out)
    shutil.rmtree(work, ignore_errors=True)
    return {**summary, "documents": n_docs, "errors": len(errors)}
