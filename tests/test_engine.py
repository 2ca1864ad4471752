"""The engine at corpus scale: files cut into work units, steps from the registry (a plug-in step's
column reaches the written shard), the fingerprint covering the packs, resume keyed by input."""
from __future__ import annotations

import json
import shutil
import sys
import textwrap
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mmedc.config import RecipeError, load_recipe
from mmedc.engine.runner import RunError, plan_units, run
from mmedc.executor import LocalExecutor
from mmedc.paths import ROOT
from mmedc.sample.build import all_docs



def _docs(copies: int = 3) -> list[dict]:
    """The sample's medical and general texts, a few times over with distinct ids."""
    out = []
    for k in range(copies):
        for d in all_docs():
            out.append({"id": f"{d['id']}-{k}", "text": d["text"] + f" ({k})", "url": f"https://example.org/{d['id']}/{k}"})
    return out


def _write_parquet(path: Path, docs: list[dict], row_group: int):
    pq.write_table(pa.Table.from_pylist(docs), path, row_group_size=row_group)


def _recipe(root: Path, body: str, pipeline: str = "") -> Path:
    r = root / "r.toml"
    r.write_text(textwrap.dedent(f"""
        [pipeline]
        name = "t"
        languages = ["en", "zh", "ja", "fr", "ru", "es"]
        {pipeline}
        """) + textwrap.dedent(body))
    return r


def _audit(out: Path) -> pl.DataFrame:
    return pl.read_parquet(str(out / "audit" / "*" / "*.parquet"))


def test_parquet_file_split_into_units_gives_the_same_output(tmp_path):
    docs = _docs()
    _write_parquet(tmp_path / "c.parquet", docs, row_group=7)
    src = '[[sources]]\nname = "c"\nkind = "parquet"\npaths = ["c.parquet"]\n'
    whole = load_recipe(_recipe(tmp_path, src))
    split = load_recipe(_recipe(tmp_path, src, "unit_docs = 20\nbatch_docs = 5"))
    units = plan_units(split)
    assert len(units) == -(-len(docs) // 21) and all(u.shard.startswith("c-00000-p") for u in units)
    assert sum(u.docs for u in units) == len(docs)
    assert len(plan_units(whole)) == 1
    run(whole, tmp_path / "a", progress=False, executor=LocalExecutor())
    run(split, tmp_path / "b", progress=False, executor=LocalExecutor())
    a, b = _audit(tmp_path / "a"), _audit(tmp_path / "b")
    assert a.filter(step="ingest").height == b.filter(step="ingest").height == len(docs)
    kept = lambda x: sorted(x.filter(step="tokenize", decision="kept")["id"].to_list())  # noqa: E731
    assert kept(a) == kept(b) and kept(a)
    # Same documents in the same order: the output shards are byte-identical.
    sa = sorted((tmp_path / "a" / "shards").glob("*.parquet"))
    sb = sorted((tmp_path / "b" / "shards").glob("*.parquet"))
    assert [p.read_bytes() for p in sa] == [p.read_bytes() for p in sb]
    # Only kept documents' text is under work/: nothing of the dropped ones.
    filtered = pl.read_parquet(str(tmp_path / "b" / "work" / "filtered" / "*.parquet"))
    medical_dropped = set(b.filter(step="medical", decision="dropped")["id"].to_list())
    assert medical_dropped and not medical_dropped & set(filtered["id"].to_list())
    assert not (tmp_path / "b" / "work" / "ingest").exists()


def test_jsonl_byte_ranges_read_every_line_once(tmp_path):
    from mmedc.config import SourceConfig
    from mmedc.sources.corpus import read_jsonl, split_jsonl

    lines = [json.dumps({"id": f"d{i}", "text": "x" * (i % 50 + 1)}) for i in range(500)]
    lines.insert(100, "{not json")
    p = tmp_path / "a.jsonl"
    p.write_text("\n".join(lines) + "\n")
    src = SourceConfig(name="s", kind="jsonl", paths=[str(p)])
    parts = split_jsonl(src, p, 0, 997)
    assert len(parts) > 10
    got = [r for a, b, _ in parts for r in read_jsonl(src, p, part=(a, b))]
    whole = list(read_jsonl(src, p))
    assert [r.id for r in got if r.decision == "kept"] == [r.id for r in whole if r.decision == "kept"]
    assert sum(r.decision == "failed" for r in got) == 1


PLUGIN = '''
import pyarrow as pa
from dataclasses import dataclass
from mmedc.core.step import KEPT, DROPPED, Outcome, Step, step

@dataclass
class ShoutConfig:
    max_upper: float = 0.5

@step("shout")
class Shout(Step):
    table, config = "shout", ShoutConfig
    columns = {"upper_share": pa.float32()}

    def process(self, docs):
        out = []
        for d in docs:
            letters = [c for c in d["text"] if c.isalpha()] or ["a"]
            d["upper_share"] = sum(c.isupper() for c in letters) / len(letters)
            keep = d["upper_share"] <= self.settings().max_upper
            out.append(Outcome(KEPT if keep else DROPPED, None if keep else "shouting", {"upper_share": d["upper_share"]}))
        return out
'''


def test_a_step_added_through_the_registry(tmp_path, monkeypatch):
    (tmp_path / "mmedc_test_shout.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    docs = _docs(1)
    docs.append({"id": "loud", "text": docs[0]["text"].upper(), "url": None})
    _write_parquet(tmp_path / "c.parquet", docs, row_group=100)
    body = '[[sources]]\nname = "c"\nkind = "parquet"\npaths = ["c.parquet"]\n\n[shout]\nmax_upper = 0.4\n'
    pipe = 'plugins = ["mmedc_test_shout"]\nsteps = ["medical", "langid", "shout", "quality"]'
    recipe = load_recipe(_recipe(tmp_path, body, pipe))
    assert recipe.table("shout").max_upper == 0.4
    run(recipe, tmp_path / "o", progress=False, executor=LocalExecutor())
    a = _audit(tmp_path / "o")
    assert a.filter(id="c:loud", step="shout")["reason"].to_list() == ["shouting"]
    assert a.filter(step="pii").height == 0  # not in the recipe's chain
    filtered = pl.read_parquet(str(tmp_path / "o" / "work" / "filtered" / "*.parquet"))
    assert "upper_share" in filtered.columns and filtered["upper_share"].max() <= 0.4
    with pytest.raises(RecipeError, match="unknown step 'nope'; known: .*medical"):
        load_recipe(_recipe(tmp_path, body, 'plugins = ["mmedc_test_shout"]\nsteps = ["medical", "nope"]'))
    sys.modules.pop("mmedc_test_shout", None)


def test_a_pack_edit_changes_the_fingerprint(tmp_path, monkeypatch):
    packs = tmp_path / "packs"
    shutil.copytree(ROOT / "filters", packs)
    monkeypatch.setenv("MMEDC_PACKS", str(packs))
    from mmedc.classify.packs import _load_pack

    (tmp_path / "a.jsonl").write_text(json.dumps({"id": "1", "text": "Pneumonia is an infection of the lungs."}) + "\n")
    r = _recipe(tmp_path, '[[sources]]\nname = "c"\nkind = "jsonl"\npaths = ["a.jsonl"]\n')
    before = load_recipe(r).fingerprint()
    assert load_recipe(r).fingerprint() == before
    en = packs / "en.toml"
    en.write_text(en.read_text() + "\n# calibrated\n")
    _load_pack.cache_clear()
    assert load_recipe(r).fingerprint() != before


def test_a_replaced_input_is_read_again_and_stale_units_go(tmp_path):
    docs = _docs(1)
    _write_parquet(tmp_path / "a.parquet", docs[:40], row_group=100)
    _write_parquet(tmp_path / "b.parquet", docs[40:], row_group=100)
    r = _recipe(tmp_path, '[[sources]]\nname = "c"\nkind = "parquet"\npaths = ["*.parquet"]\n')
    out = tmp_path / "o"
    run(load_recipe(r), out, progress=False, executor=LocalExecutor())
    first = set(_audit(out).filter(step="ingest")["id"].to_list())
    # a.parquet is replaced by other documents and b.parquet removed: only the new input counts.
    new = [dict(d, id=d["id"] + "-new") for d in docs[:10]]
    _write_parquet(tmp_path / "a.parquet", new, row_group=100)
    (tmp_path / "b.parquet").unlink()
    res = run(load_recipe(r), out, progress=False, executor=LocalExecutor())
    ids = set(_audit(out).filter(step="ingest")["id"].to_list())
    assert ids == {f"c:{d['id']}" for d in new} and not ids & first
    assert res.steps[0] == {"step": "ingest", "in": 10, "kept": 10, "dropped": 0, "failed": 0}
    shard_ids = set(pl.read_parquet(str(out / "shards" / "*.parquet"))["id"].to_list())
    assert shard_ids <= ids
    from mmedc.audit.check import check

    assert check(out).ok, check(out).violations


def test_recipe_pipeline_keys_are_checked(tmp_path):
    with pytest.raises(RecipeError, match="unknown key"):
        load_recipe(_recipe(tmp_path, '[[sources]]\nname = "c"\nkind = "jsonl"\npaths = []\n', "langauges = []"))
    with pytest.raises(RecipeError, match="batch_docs must be a positive integer"):
        load_recipe(_recipe(tmp_path, '[[sources]]\nname = "c"\nkind = "jsonl"\npaths = []\n', "batch_docs = 0"))
