"""Runs a recipe on Ray: plans shards, submits one task per shard per stage, resumes finished work.

Stages are chained through Ray object references, so a shard's filter task starts as soon as its
own ingest task finishes; dedup waits for every shard. Finished tasks leave a marker file after their
outputs are in place (atomic renames), so a re-run skips them and a crashed run resumes.
"""
from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from mmedc.config import Recipe
from mmedc.engine import stages
from mmedc.engine.files import atomic_write_json


class RunError(RuntimeError):
    pass


@dataclass
class RunResult:
    out: Path
    manifest: dict
    seconds: float
    failed_tasks: list[str] = field(default_factory=list)
    skipped_tasks: int = 0


def plan_shards(recipe: Recipe) -> list[tuple[int, str, str]]:
    """(source index, file, shard name) for every input file; shard names are stable across runs."""
    plan = []
    for si, src in enumerate(recipe.sources):
        files = recipe.source_files(src)
        if not files:
            raise RunError(f"source {src.name!r} matched no {src.kind} files in {src.paths}")
        for fi, f in enumerate(files):
            plan.append((si, str(f), f"{src.name}-{fi:05d}"))
    return plan


def _check_state(recipe: Recipe, out: Path, restart: bool):
    state = out / "work" / "recipe.json"
    fp = recipe.fingerprint()
    if state.exists():
        old = json.loads(state.read_text()).get("fingerprint")
        if old != fp:
            if not restart:
                raise RunError(f"{out} holds a run of another recipe or settings (fingerprint {old} != {fp}); "
                               "use another --out or pass --restart to discard it")
            for sub in ("work", "audit", "shards"):
                shutil.rmtree(out / sub, ignore_errors=True)
            (out / "manifest.json").unlink(missing_ok=True)
    atomic_write_json({"recipe": recipe.name, "fingerprint": fp}, state)


def validate(recipe: Recipe):
    """Fail fast, before Ray starts, on what would fail in every task."""
    from mmedc.classify.langid import default_model_path
    from mmedc.classify.packs import load_pack
    from mmedc.classify.medical import get_classifier
    from mmedc.shards.tokenizer import load_tokenizer

    for code in recipe.languages:
        load_pack(code)
    get_classifier(recipe.medical.classifier)
    if not recipe.langid.model:
        default_model_path()
    elif not Path(recipe.langid.model).exists():
        raise RunError(f"[langid] model {recipe.langid.model} not found")
    return load_tokenizer(recipe.tokenize.tokenizer, recipe.tokenize.eos_token)


def _submit_and_wait(recipe: Recipe, plan, out: Path, progress: bool) -> tuple[list[str], int]:
    import ray

    from mmedc.dedup import stage as dedup_stage
    from mmedc.engine.progress import StageProgress
    from mmedc.shards import writer as shard_writer

    opts = dict(num_cpus=1, max_retries=3)
    ingest = ray.remote(stages.ingest).options(name="ingest", **opts)
    filt = ray.remote(stages.filter_shard).options(name="filter", **opts)
    final = ray.remote(stages.finalize_shard).options(name="finalize", **opts)
    shards = [s for _, _, s in plan]
    refs: dict[str, list] = {"ingest": [], "filter": [], "dedup": [], "finalize": [], "shards": []}
    labels: dict = {}
    skipped = 0

    def add(stage, ref, label):
        refs[stage].append(ref)
        labels[ref] = label
        return ref

    filter_refs = []
    for si, path, shard in plan:
        dep = None
        if stages.read_marker(out, "ingest", shard) is None:
            dep = add("ingest", ingest.remote(recipe, si, path, shard, out), f"ingest {shard}")
        else:
            skipped += 1
        if dep is not None or stages.read_marker(out, "filter", shard) is None:
            filter_refs.append(add("filter", filt.remote(recipe, shard, out, *([dep] if dep else [])), f"filter {shard}"))
        else:
            skipped += 1
    if filter_refs or stages.read_marker(out, "dedup", "all") is None:
        # New or re-filtered shards change the clusters: dedup, finalize and shards run again.
        for sh in shards:
            stages.marker(out, "finalize", sh).unlink(missing_ok=True)
        stages.marker(out, "dedup", "all").unlink(missing_ok=True)
        dedup_ref = add("dedup", dedup_stage.submit(recipe, shards, out, filter_refs), "dedup")
    else:
        dedup_ref = None
        skipped += 1
    final_refs = []
    for sh in shards:
        if stages.read_marker(out, "finalize", sh) is None:
            final_refs.append(add("finalize", final.remote(recipe, sh, out, *([dedup_ref] if dedup_ref else [])),
                                  f"finalize {sh}"))
        else:
            skipped += 1
    shards_ref = None
    if final_refs or stages.read_marker(out, "shards", "all") is None:
        stages.marker(out, "shards", "all").unlink(missing_ok=True)
        shards_ref = add("shards", shard_writer.submit(recipe, shards, out, final_refs), "shards")
    failed = StageProgress({k: v for k, v in refs.items() if v}, labels, enabled=progress).wait()
    # Global stages get their markers here, once their task succeeded.
    for ref, stage in ((dedup_ref, "dedup"), (shards_ref, "shards")):
        if ref is not None and not any(f.startswith(stage) for f in failed):
            atomic_write_json({"stage": stage}, stages.marker(out, stage, "all"))
    return failed, skipped


def run(recipe: Recipe, out: Path, ray_address: str | None = None, workers: int | None = None,
        restart: bool = False, progress: bool = True) -> RunResult:
    import ray

    from mmedc.engine.ray_runtime import init_ray
    from mmedc.shards.manifest import build_manifest

    t0 = time.time()
    out = Path(out).resolve()
    tok = validate(recipe)
    plan = plan_shards(recipe)
    out.mkdir(parents=True, exist_ok=True)
    _check_state(recipe, out, restart)

    started = init_ray(ray_address, workers)
    try:
        failed, skipped = _submit_and_wait(recipe, plan, out, progress)
    finally:
        if started:
            ray.shutdown()
    manifest = build_manifest(out, tok.info(), recipe.name, recipe.fingerprint())
    result = RunResult(out, manifest, time.time() - t0, failed, skipped)
    if failed:
        raise RunError(f"{len(failed)} task(s) failed after retries: {', '.join(failed[:10])}; "
                       "re-run the same command to retry them (finished work is kept)")
    return result
