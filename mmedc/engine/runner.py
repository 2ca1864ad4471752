"""Runs a recipe: plans work units, submits one task per unit per stage to the executor, resumes
finished work.

A unit's filter task reads its slice of a file and streams it through the chain; dedup waits for
every unit; finalize and the shard writer follow. Finished tasks leave a marker after their outputs
are in place, recording the input they read (path, size, modification time, part), so a re-run skips
them only while that input is unchanged, and units that are no longer planned lose their outputs.
"""
from __future__ import annotations

import copy
import dataclasses
import functools
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from mmedc.config import Recipe
from mmedc.core.errors import MmedcError
from mmedc.core.files import atomic_write_json
from mmedc.core.layout import step_totals, marker, read_json, read_marker, work
from mmedc.core import storage
from mmedc.core.readers import READERS, WorkUnit
from mmedc.engine import stages
from mmedc.executor import use


class RunError(MmedcError, RuntimeError):
    pass


@dataclass
class RunResult:
    out: Path  # or a UPath for an object-store URI (mmedc.core.storage)
    manifest: dict
    seconds: float
    failed_tasks: list[str] = field(default_factory=list)
    skipped_tasks: int = 0
    steps: list[dict] = field(default_factory=list)  # per step: in / kept / dropped / failed, in run order


def plan_units(recipe: Recipe) -> list[WorkUnit]:
    """Every input file, cut into parts by its reader when it is large; names are stable across runs:
    `<source>-<file number>` for a whole file, `<source>-<file number>-p<part>` for a part."""
    units = []
    cfg = recipe.pipeline
    for si, src in enumerate(recipe.sources):
        files = recipe.source_files(src)
        if not files:
            raise RunError(f"source {src.name!r} matched no {src.kind} files in {src.paths}")
        spec = READERS.get(src.kind)
        for fi, f in enumerate(files):
            base = f"{src.name}-{fi:05d}"
            parts = _split(spec, src, f, cfg.unit_docs, cfg.unit_bytes)
            if len(parts) <= 1:
                units.append(WorkUnit(si, str(f), base, None, parts[0][2] if parts else None))
            else:
                units += [WorkUnit(si, str(f), f"{base}-p{k:04d}", (a, b), est) for k, (a, b, est) in enumerate(parts)]
    return units


def _split(spec, src, path: Path, unit_docs: int, unit_bytes: int) -> list[tuple]:
    if spec.split is None:
        return []
    try:
        return spec.split(src, path, unit_docs, unit_bytes)
    except Exception:  # noqa: BLE001 - an unreadable file is one unit; its reader records why
        return []


def _check_state(recipe: Recipe, out, restart: bool):
    state = work(out, "recipe.json")
    fp = recipe.fingerprint()
    old_state = read_json(state)
    if old_state is not None:
        old = old_state.get("fingerprint")
        if old != fp:
            if not restart:
                raise RunError(f"{out} holds a run of another recipe or settings (fingerprint {old} != {fp}); "
                               "use another --out or pass --restart to discard it")
            for sub in ("work", "audit", "shards"):
                storage.rmtree(out / sub)
            storage.remove(out / "manifest.json")
    # The sources, OCR settings and limits let `mmedc audit sample` re-read a dropped document's text
    # from its input as the run read it (only kept text is written under work/).
    atomic_write_json({"recipe": recipe.name, "fingerprint": fp,
                       "sources": [dataclasses.asdict(s) for s in recipe.sources],
                       "ocr": dataclasses.asdict(recipe.ocr), "limits": dataclasses.asdict(recipe.limits)}, state)


def _drop_stale(out, planned: set[str]):
    """Outputs of units no longer planned (an input removed or renamed) must not reach the shards."""
    done = work(out, "done", "filter")
    stale = {p.stem for p in done.glob("*.json")} - planned
    for shard in stale:
        for stage in ("filter", "finalize", "ingest"):
            storage.remove(marker(out, stage, shard))
        for sub in ("filtered", "minhash", "tokenized", "dedup", "ingest"):
            storage.remove(work(out, sub, f"{shard}.parquet"))
        for f in (out / "audit").glob(f"*/{shard}.parquet"):
            storage.remove(f)
    return stale


def ship_settings(out) -> dict[str, str]:
    """Copies the language packs and OCR settings this process uses into OUT/work/settings/ and returns
    the environment that points workers there: on a cluster without a shared disk (--out in a bucket)
    every node then reads the same files the driver validated and fingerprinted."""
    from mmedc.paths import ocr_dir, packs_dir

    from mmedc.paths import pack_dirs

    env = {}
    for var, srcs, sub in (("MMEDC_PACKS", pack_dirs(), "filters"), ("MMEDC_OCR", [ocr_dir()], "ocr")):
        dest = work(out, "settings", sub)
        storage.rmtree(dest)
        files: dict[str, object] = {}
        for src in srcs:  # the pack search order: the first folder holding a pack wins
            for f in sorted(storage.path(src).glob("*.toml"), key=str):
                files.setdefault(f.name, f)
        for name, f in sorted(files.items()):
            storage.write_bytes(dest / name, f.read_bytes())
        env[var] = str(dest)
    return env


def local_settings() -> dict[str, str]:
    from mmedc.paths import ocr_dir, pack_dirs

    return {"MMEDC_PACKS": os.pathsep.join(str(d) for d in pack_dirs()), "MMEDC_OCR": str(ocr_dir())}


def validate(recipe: Recipe):
    """Fail fast, before Ray starts, on what would fail or drop every document: the packs (with the
    tables the chain's steps need), the medical classifier, the LID model (loaded and asked), the tokenizer."""
    from mmedc.classify.medical import get_classifier
    from mmedc.classify.packs import load_pack
    from mmedc.shards.tokenizer import load_tokenizer

    steps = set(recipe.pipeline.steps)
    packs = [load_pack(code) for code in recipe.languages]
    get_classifier(recipe.medical.classifier)
    for p in packs:
        if "medical" in steps:
            need = "keywords" if recipe.medical.classifier == "mmedc" else "terms"
            if not getattr(p, need):
                raise RunError(f"language pack {p.code} ({p.path}) has no [medical] {need} for the "
                               f"{recipe.medical.classifier!r} classifier: every document would be dropped as not medical")
    if "langid" in steps:
        check_lid_model(recipe.langid.model, tuple(lab for p in packs for lab in p.lid_labels))
    return load_tokenizer(recipe.tokenize.tokenizer, recipe.tokenize.eos_token)


def check_lid_model(model: str, labels: tuple[str, ...], timeout: float | None = None):
    """Load the LID model and ask it once, in a child process: a truncated fastText file can crash or
    spin the loader (and then every worker, in a loop), an empty or foreign file fails every document.
    A model that does not load within `timeout` (default: 60 s + 1 s per 20 MB) is refused."""
    from mmedc.classify.langid import default_model_path

    if not model:
        model = str(default_model_path())
    elif storage.is_uri(model):
        if not storage.path(model).exists():
            raise RunError(f"[langid] model {model} not found")
        model = str(storage.local_copy(model))  # what every worker loads: a copy on its node
    elif not Path(model).is_file():
        raise RunError(f"[langid] model {model} not found (or not a file)")
    st = Path(model).stat()
    timeout = timeout or 60 + st.st_size / 20e6
    _check_lid_model(str(Path(model).resolve()), st.st_size, st.st_mtime_ns, labels, timeout)


def fasttext_size(path: str, chunk: int = 1 << 20) -> int:
    """The size a fastText model file must have, from its own headers (magic, args, dictionary, then
    the dense or product-quantized matrices), read without loading it: a file cut short is told apart
    in milliseconds instead of spinning fastText's loader. Raises ValueError on a file that is not one."""
    import struct

    with open(path, "rb") as f:
        def take(fmt: str):
            n = struct.calcsize(fmt)
            b = f.read(n)
            if len(b) < n:
                raise ValueError(f"cut short at byte {f.tell()}")
            return struct.unpack(fmt, b)

        magic, version = take("<ii")
        if magic != 793712314 or not 1 <= version <= 12:
            raise ValueError("not a fastText model (wrong magic number)")
        take("<12id")  # args: dim, ws, epoch, minCount, neg, wordNgrams, loss, model, bucket, minn, maxn, lrUpdateRate, t
        size, _nwords, _nlabels, _ntokens, pruneidx = take("<iiiqq")
        if size < 0 or pruneidx < 0:
            raise ValueError("damaged dictionary header")
        # The dictionary: null-terminated words, each with a count (int64) and a type (int8), read in
        # chunks; then the pruned-index pairs.
        base, buf, pos, words = f.tell(), b"", 0, 0
        while words < size:
            end = buf.find(b"\0", pos)
            if end < 0 or end + 10 > len(buf):
                more = f.read(chunk)
                if not more:
                    raise ValueError(f"cut short in the dictionary (at byte {base + len(buf)})")
                base, buf, pos = base + pos, buf[pos:] + more, 0
                continue
            pos, words = end + 10, words + 1
        f.seek(base + pos + 8 * pruneidx)

        def matrix(quant: bool):
            if not quant:
                m, n = take("<qq")
                f.seek(4 * m * n, 1)
                return
            qnorm, m, _n, codesize = take("<?qqi")
            f.seek(codesize, 1)
            pq()
            if qnorm:
                f.seek(m, 1)
                pq()

        def pq():
            dim, _nsubq, _dsub, _lastdsub = take("<iiii")
            f.seek(4 * dim * 256, 1)

        (quant,) = take("<?")
        matrix(quant)
        (qout,) = take("<?")
        matrix(quant and qout)
        return f.tell()


_LID_PROBE = """
import sys, fasttext
fasttext.FastText.eprint = lambda *a, **k: None
m = fasttext.load_model(sys.argv[1])
m.predict("the patient was treated for pneumonia", k=1)
print(" ".join(l.replace("__label__", "") for l in m.get_labels()))
"""


@functools.cache
def _check_lid_model(path: str, size: int, mtime_ns: int, labels: tuple[str, ...], timeout: float):
    import subprocess
    import sys

    if size == 0:
        raise RunError(f"[langid] model {path} is empty")
    try:
        want = fasttext_size(path)
    except (ValueError, OSError) as e:
        raise RunError(f"[langid] model {path} cannot be loaded as a fastText model: {e}") from None
    if want != size:
        raise RunError(f"[langid] model {path} is {size:,} bytes but its headers say {want:,}: "
                       f"{'cut short' if size < want else 'followed by other data'}")
    try:
        r = subprocess.run([sys.executable, "-c", _LID_PROBE, path], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RunError(f"[langid] model {path} did not load in {timeout:.0f} s (a truncated or damaged "
                       "fastText file?)") from None
    if r.returncode != 0:
        why = (r.stderr.strip().splitlines() or [f"the loader died (exit status {r.returncode})"])[-1][:200]
        raise RunError(f"[langid] model {path} cannot be loaded as a fastText model: {why}")
    known = set(r.stdout.split())
    missing = sorted({lab for lab in labels} - known)
    if labels and len(missing) == len(set(labels)):
        raise RunError(f"[langid] model {path} knows none of the packs' LID labels (e.g. {missing[:3]}): "
                       "is it a language-ID model?")


def _submit_and_wait(ex, recipe: Recipe, units: list[WorkUnit], out, progress: bool) -> tuple[list[str], int]:
    from mmedc.dedup import stage as dedup_stage
    from mmedc.engine.progress import StageProgress
    from mmedc.shards import writer as shard_writer

    shards = [u.shard for u in units]
    handles: dict[str, list] = {"filter": [], "ids": [], "dedup": [], "finalize": [], "shards": []}
    skipped = 0

    def add(stage, h):
        handles[stage].append(h)
        return h

    filter_handles = []
    for u in units:
        m = read_marker(out, "filter", u.shard)
        if m is None or m.get("input") != stages.input_key(u):
            marker(out, "finalize", u.shard).unlink(missing_ok=True)
            filter_handles.append(add("filter", ex.submit(stages.filter_unit, recipe, u, out, name=f"filter {u.shard}")))
        else:
            skipped += 1
    if filter_handles or read_marker(out, "dedup", "all") is None:
        # New or re-filtered units change the clusters: dedup, finalize and shards run again.
        for sh in shards:
            marker(out, "finalize", sh).unlink(missing_ok=True)
        marker(out, "dedup", "all").unlink(missing_ok=True)
        # Ids kept by two units: the first keeps it, dedup clusters the others without their copies.
        ids_h = add("ids", ex.submit(stages.unique_ids, shards, out, name="ids", num_cpus=1, deps=filter_handles))
        h = dedup_stage.submit(recipe, shards, out, [ids_h])
        h.name = "dedup"
        dedup_h = add("dedup", h)
    else:
        dedup_h = None
        skipped += 1
    final_handles = []
    for sh in shards:
        if read_marker(out, "finalize", sh) is None:
            # Own workers: the tokenizer beside the filter's models made finalize the largest process.
            final_handles.append(add("finalize", ex.submit(stages.finalize_shard, recipe, sh, out, name=f"finalize {sh}",
                                                           deps=[dedup_h] if dedup_h else [], pool="finalize")))
        else:
            skipped += 1
    shards_h = None
    if final_handles or read_marker(out, "shards", "all") is None:
        marker(out, "shards", "all").unlink(missing_ok=True)
        shards_h = shard_writer.submit(recipe, shards, out, final_handles)
        shards_h.name = "shards"
        add("shards", shards_h)
    failed = StageProgress(ex, {k: v for k, v in handles.items() if v}, enabled=progress).wait()
    # Global stages get their markers here, once their task succeeded.
    for h, stage in ((dedup_h, "dedup"), (shards_h, "shards")):
        if h is not None and not any(f.startswith(stage) for f in failed):
            atomic_write_json({"stage": stage}, marker(out, stage, "all"))
    return failed, skipped


def run(recipe: Recipe, out, ray_address: str | None = None, workers: int | None = None,
        restart: bool = False, progress: bool = True, executor=None) -> RunResult:
    """Run on Ray (embedded, or the cluster at `ray_address`), or on the given executor
    (e.g. `LocalExecutor()` for debugging: everything in this process). `out` is a local folder or
    a URI (`s3://bucket/run`): tasks read their inputs and write their outputs there directly."""
    from mmedc.shards.manifest import build_manifest

    t0 = time.time()
    out = storage.resolve(out)
    tok = validate(recipe)
    units = plan_units(recipe)
    storage.ensure_dir(out)
    _check_state(recipe, out, restart)
    if _drop_stale(out, {u.shard for u in units}):
        marker(out, "dedup", "all").unlink(missing_ok=True)  # fewer units: clusters and first ids change
    # What this run must finish: `audit check` holds every planned unit to its markers.
    atomic_write_json([{"shard": u.shard, "source": recipe.sources[u.source_index].name, "path": u.path,
                        "part": list(u.part) if u.part else None} for u in units], work(out, "units.json"))

    # The packs and OCR settings every task uses: the run folder's copy on a cluster, else this
    # process's folders. They travel with the recipe (stages.use_run_env), so they hold also when Ray
    # was started before the recipe was loaded; on a cluster Ray's runtime env carries them too.
    recipe = copy.copy(recipe)
    if ray_address:
        recipe.worker_env = ship_settings(out)
    elif executor is None or executor.distributed:  # in-process tasks already see this process's folders
        recipe.worker_env = local_settings()
    started = False
    if executor is None:
        from mmedc.executor.ray_executor import RayExecutor, start

        started = start(ray_address, workers, recipe.worker_env if ray_address else None)
        executor = RayExecutor()
    try:
        with use(executor):
            failed, skipped = _submit_and_wait(executor, recipe, units, out, progress)
    finally:
        if started:
            from mmedc.executor.ray_executor import stop

            stop()
    from mmedc.audit.books import write_book_audit

    write_book_audit(recipe, units, out)  # one `books` audit row per book-list title (docs/books.md)
    manifest = build_manifest(out, tok.info(), recipe.name, recipe.fingerprint(), recipe=recipe)
    result = RunResult(out, manifest, time.time() - t0, failed, skipped, step_totals(out))
    if failed:
        raise RunError(f"{len(failed)} task(s) failed after retries: {', '.join(failed[:10])}; "
                       "re-run the same command to retry them (finished work is kept)")
    _check_not_empty(out, result.steps)
    return result


def _check_not_empty(out: Path, steps: list[dict]):
    """A step that dropped or failed every document it saw is a setting or input problem, not a corpus:
    the run says which step and why, and exits non-zero (its audit is written, for `mmedc audit`)."""
    import polars as pl

    for t in steps:
        if t["in"] and not t["kept"]:
            try:
                top = (pl.scan_parquet(str(out / "audit" / t["step"] / "*.parquet")).group_by("reason").len()
                       .sort("len", descending=True).head(1).collect().row(0))
                why = f"; most often: {top[0]} ({top[1]:,})"
            except Exception:  # noqa: BLE001 - the one line must come out even without the reason
                why = ""
            raise RunError(f"step {t['step']} kept none of the {t['in']:,} documents that reached it "
                           f"({t['dropped']:,} dropped, {t['failed']:,} failed{why}); see `mmedc audit summary {out}`")
