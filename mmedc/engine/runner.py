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


def run(recipe: Recipe, out: Path, ray_address: str | None = None, workers: int | None = None,
        restart: bool = False, progress: bool = True) -> RunResult:
    import ray

    from mmedc.engine.progress import StageProgress
    from mmedc.engine.ray_runtime import init_ray
    from mmedc.shards.manifest import build_manifest

    t0 = time.time()
    out = Path(out).resolve()
    tok = validate(recipe)
    plan = plan_shards(recipe)
    out.mkdir(parents=True, exist_ok=True)
    _check_state(recipe, out, restart)
    shards = [s for _, _, s in plan]

    started = init_ray(ray_address, workers)
    try:
        opts = dict(num_cpus=1, max_retries=3)
        ingest = ray.remote(stages.ingest).options(name="ingest", **opts)
        filt = ray.remote(stages.filter_shard).options(name="filter", **opts)
        dedup = ray.remote(stages.dedup_all).options(name="dedup", **opts)
        final = ray.remote(stages.finalize_shard).options(name="finalize", **opts)

        refs: dict[str, list] = {"ingest": [], "filter": [], "dedup": [], "finalize": []}
        labels = {}
        skipped = 0
        filter_refs = []
        for si, path, shard in plan:
            dep = None
            if stages.read_marker(out, "ingest", shard) is None:
                dep = ingest.remote(recipe, si, path, shard, out)
                refs["ingest"].append(dep)
                labels[dep] = f"ingest {shard}"
            else:
                skipped += 1
            if stages.read_marker(out, "filter", shard) is None:
                f = filt.remote(recipe, shard, out, dep)
                refs["filter"].append(f)
                labels[f] = f"filter {shard}"
                filter_refs.append(f)
            else:
                skipped += 1
        dedup_ref = None
        if filter_refs or stages.read_marker(out, "dedup", "all") is None:
            # New or re-filtered shards change the clusters: dedup and finalize run again.
            dedup_ref = dedup.remote(recipe, shards, out, *filter_refs)
            refs["dedup"].append(dedup_ref)
            labels[dedup_ref] = "dedup"
            for sh in shards:
                stages.marker(out, "finalize", sh).unlink(missing_ok=True)
        for sh in shards:
            if stages.read_marker(out, "finalize", sh) is None:
                r = final.remote(recipe, sh, out, dedup_ref)
                refs["finalize"].append(r)
                labels[r] = f"finalize {sh}"
            else:
                skipped += 1

        failed = StageProgress(refs, labels, enabled=progress).wait()
    finally:
        if started:
            ray.shutdown()
    manifest = build_manifest(out, tok.info(), recipe.name, recipe.fingerprint())
    result = RunResult(out, manifest, time.time() - t0, failed, skipped)
    if failed:
        raise RunError(f"{len(failed)} task(s) failed after retries: {', '.join(failed[:10])}; "
                       "re-run the same command to retry them (finished work is kept)")
    return result
