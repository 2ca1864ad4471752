"""Output shards: target size, seeded shuffling across shards, the mixture and its record in the manifest.

The writer runs on a copy of the sample run's tokenized documents (work/tokenized), so every case
re-cuts the same real shards without re-running the pipeline."""
import dataclasses
import json
import shutil

import numpy as np
import polars as pl
import pytest

from mmedc.config import RecipeError, ShardsConfig, load_recipe
from mmedc.shards.manifest import build_manifest
from mmedc.shards.writer import plan_mixture, write_output_shards


@pytest.fixture()
def recut(sample_inputs, sample_run, tmp_path):
    """Returns a function: ShardsConfig fields → (output folder, manifest)."""
    names = sorted(p.stem for p in (sample_run / "work" / "tokenized").glob("*.parquet"))
    tokenized = pl.read_parquet(str(sample_run / "work" / "tokenized" / "*.parquet"))
    calls = []

    def run(**fields):
        out = tmp_path / f"out{len(calls)}"
        calls.append(out)
        shutil.copytree(sample_run / "work" / "tokenized", out / "work" / "tokenized")
        shutil.copytree(sample_run / "work" / "filtered", out / "work" / "filtered")  # the text shards' source
        recipe = load_recipe(sample_inputs)
        recipe.shards = dataclasses.replace(recipe.shards, **fields)
        write_output_shards(recipe, names, out)
        return out, build_manifest(out, {"eos_id": 0}, recipe.name, recipe.fingerprint())

    run.tokenized = tokenized
    return run


def read(out):
    return pl.read_parquet(str(out / "shards" / "*.parquet"), include_file_paths="file")


def test_target_size_and_shuffle_across_shards(recut):
    out, m = recut(target_tokens=500, seed=3)
    docs = recut.tokenized
    n = len(m["shards"])
    assert n == -(-docs["n_tokens"].sum() // 500) or n == docs["n_tokens"].sum() // 500 + 1
    assert [s["file"] for s in m["shards"]] == [f"shards/shard-{j:05d}-of-{n:05d}.parquet" for j in range(n)]
    longest = docs["n_tokens"].max()
    for s in m["shards"][:-1]:
        assert 500 - longest <= s["tokens"] <= 500 + longest
    df = read(out)
    # Every document exactly once, tokens unchanged; the order is no longer the input order.
    assert sorted(df["id"]) == sorted(docs["id"]) and (df["copy"] == 0).all()
    joined = df.join(docs, on="id", suffix="_in")
    assert (joined["input_ids"] == joined["input_ids_in"]).all()
    assert df["id"].to_list() != docs["id"].to_list()
    # Same seed → byte-identical shards; another seed → another order.
    again, _ = recut(target_tokens=500, seed=3)
    for s in m["shards"]:
        assert (out / s["file"]).read_bytes() == (again / s["file"]).read_bytes()
    other, _ = recut(target_tokens=500, seed=4)
    assert read(other)["id"].to_list() != df["id"].to_list()


def test_no_shuffle_keeps_input_order_in_one_shard(recut):
    out, m = recut(target_tokens=0, shuffle=False)
    assert len(m["shards"]) == 1
    assert read(out)["id"].to_list() == recut.tokenized["id"].to_list()


def test_mixture_up_and_down_sampling_is_recorded(recut):
    docs = recut.tokenized
    fr_tokens = int(docs.filter(lang="fr")["n_tokens"].sum())
    out, m = recut(lang_weights={"fr": 2.0, "ja": 0.0}, source_tokens={"books": 0})
    df = read(out)
    per_id = df.group_by("id", "lang", "source").agg(pl.len().alias("n"), pl.col("copy").sort().alias("copies"))
    assert (per_id.filter(lang="fr")["n"] == 2).all() and per_id.filter(lang="fr")["copies"].to_list()[0] == [0, 1]
    assert per_id.filter(lang="ja").height == 0 and per_id.filter(source="books").height == 0
    assert (per_id.filter(~pl.col("lang").is_in(["fr", "ja"]), pl.col("source") != "books")["n"] == 1).all()
    mix = m["mixture"]
    assert mix["by_lang"]["fr"] == {"available_tokens": fr_tokens, "factor": 2.0,
                                    "output_docs": 2 * docs.filter(lang="fr").height, "output_tokens": 2 * fr_tokens}
    assert mix["by_lang"]["ja"]["output_tokens"] == 0 and mix["by_source"]["books"]["factor"] == 0.0
    assert mix["output"]["tokens"] == m["totals"]["tokens"] == df["n_tokens"].sum()
    assert m["totals"]["by_lang"]["fr"]["tokens"] == 2 * fr_tokens


def test_fractional_target_tokens_sample_close_to_the_target(recut):
    en = recut.tokenized.filter(lang="en")
    target = int(en["n_tokens"].sum() * 1.5)
    out, m = recut(lang_tokens={"en": target}, seed=1)
    rec = m["mixture"]["by_lang"]["en"]
    assert rec["factor"] == pytest.approx(target / en["n_tokens"].sum(), rel=1e-5)
    # floor(1.5) = 1 copy of every English document, a second copy for some of them.
    got = read(out).filter(lang="en")
    assert set(got.filter(copy=0)["id"]) == set(en["id"]) and set(got["copy"]) <= {0, 1}
    assert rec["output_tokens"] == got["n_tokens"].sum()


def test_fractional_factors_hit_the_target_on_average():
    rng = np.random.default_rng(0)
    n_tokens = rng.integers(50, 500, size=4000)
    lang = np.array(["en", "fr"] * 2000)
    cfg = ShardsConfig(lang_tokens={"en": int(n_tokens[lang == "en"].sum() * 1.5)}, lang_weights={"fr": 0.25})
    doc, copy_no, shard, n_shards, rec = plan_mixture(cfg, lang, np.array(["s"] * 4000), n_tokens)
    copies = np.bincount(doc, minlength=4000)
    assert set(copies[lang == "en"]) == {1, 2} and set(copies[lang == "fr"]) == {0, 1}
    assert abs(rec["by_lang"]["en"]["output_tokens"] / (1.5 * rec["by_lang"]["en"]["available_tokens"]) - 1) < 0.05
    assert abs((copies[lang == "fr"] == 1).mean() - 0.25) < 0.05
    assert n_shards == 1 and sorted(zip(doc, copy_no)) == sorted(set(zip(doc, copy_no)))  # no copy twice


def test_shards_section_is_checked(tmp_path, sample_inputs):
    text = sample_inputs.read_text()
    for bad, msg in (("[shards]\ntarget_tokenz = 5\n", "unknown key"), ("[shards]\nlang_weights = {fr = -1}\n", ">= 0")):
        p = sample_inputs.parent / "bad_shards.toml"
        p.write_text(text + "\n" + bad)
        with pytest.raises(RecipeError, match=msg):
            load_recipe(p)
    assert load_recipe(sample_inputs).shards == ShardsConfig()
    json.dumps(dataclasses.asdict(ShardsConfig()))  # part of the recipe fingerprint


def test_a_shard_is_written_window_by_window(recut, monkeypatch):
    """gather holds GATHER_ROWS ranks of a shard at a time (its memory is set by that, not by the shard):
    with windows of 3 rows the shards and text shards hold the same rows in the same order as with
    one window, and the manifest's sha256 is that of the bytes written."""
    import hashlib

    import pyarrow.parquet as pq

    import mmedc.shards.writer as writer
    from mmedc.executor import LocalExecutor, use

    whole, _ = recut(target_tokens=0, seed=5)
    monkeypatch.setattr(writer, "GATHER_ROWS", 3)
    with use(LocalExecutor()):  # the tasks in this process, where the window size is patched
        small, m = recut(target_tokens=0, seed=5)
    for sub in ("shards", "text"):
        assert pl.read_parquet(str(small / sub / "*.parquet")).equals(pl.read_parquet(str(whole / sub / "*.parquet")))
    f = small / m["shards"][0]["file"]
    assert pq.ParquetFile(f).metadata.num_row_groups > 1
    assert m["shards"][0]["sha256"] == hashlib.sha256(f.read_bytes()).hexdigest()
