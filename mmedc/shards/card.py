"""OUT/README.md: a dataset card, so that the output folder loads with `datasets.load_dataset(OUT,
"text")` (or "tokens") and can be pushed to a dataset hub as it is.

The YAML front matter declares the configs (`text/*.parquet`, `shards/*.parquet`), the languages and
a licence to fill in; the body has the token table by language × source, the documents per step (the
funnel, from the run's completion markers) and the recipe's settings.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from mmedc.core.layout import step_totals


def funnel(out: Path) -> list[dict]:
    """Per step, in the order the run ran them: documents in / kept / dropped / failed (markers)."""
    return step_totals(out)


def _recipe_settings(recipe) -> dict | None:
    if recipe is None:
        return None
    d = dataclasses.asdict(recipe)
    for key in ("base_dir", "crawl"):
        d.pop(key, None)
    return d


def _front_matter(manifest: dict, has_text: bool, langs: list[str]) -> str:
    lines = ["---",
             "license: other  # fill in: the licences of the sources (see Licence below)",
             "language:"] + [f"- {c}" for c in langs] + [
             f"pretty_name: MMedC-style medical corpus ({manifest['recipe']})",
             "tags:", "- medical", "- pretraining", "- mmedc",
             "configs:"]
    if has_text:
        lines += ["- config_name: text", "  default: true", "  data_files:", "  - split: train",
                  "    path: text/*.parquet"]
    lines += ["- config_name: tokens", "  data_files:", "  - split: train", "    path: shards/*.parquet", "---"]
    return "\n".join(lines)


def render_card(out: Path, manifest: dict, recipe=None) -> str:
    t = manifest["totals"]
    has_text = bool(manifest.get("text"))
    langs = sorted(t["by_lang"]) or (list(recipe.languages) if recipe is not None else [])
    tok = manifest.get("tokenizer") or {}
    tok_name = tok.get("name") or tok.get("path") or "the recipe's tokenizer"
    parts = [_front_matter(manifest, has_text, [c for c in langs if c]), "",
             f"# {manifest['recipe']}", "",
             f"{t['docs']:,} documents, {t['tokens']:,} tokens in {len(manifest['shards'])} shard(s), built by "
             f"mmedc (recipe fingerprint `{manifest['fingerprint']}`).", "",
             "## Loading", "", "```python", "from datasets import load_dataset", ""]
    if has_text:
        parts += ['text = load_dataset("PATH/TO/THIS/FOLDER", "text", split="train")    # id, lang, source, url, licence, text, scores']
    parts += ['tokens = load_dataset("PATH/TO/THIS/FOLDER", "tokens", split="train")  # id, lang, source, input_ids', "```", ""]
    parts += ["`text/shard-*.parquet` and `shards/shard-*.parquet` hold the same documents, row for row and in the same "
              "order (an up-sampled document appears once per `copy`)." if has_text else
              "The text was not written (`[shards] text = false`).",
              f"Tokens: {tok_name}; documents are separated by the EOS token when packed.", "",
              "## Tokens by language and source", ""]
    sources = sorted(t["by_source"])
    parts += ["| language | " + " | ".join(sources) + " | all |", "|---" * (len(sources) + 2) + "|"]
    pairs = t.get("by_lang_source", {})
    for lang in sorted(t["by_lang"]):
        row = [f"{pairs.get(f'{lang}/{s}', {}).get('tokens', 0):,}" for s in sources]
        parts.append(f"| {lang} | " + " | ".join(row) + f" | {t['by_lang'][lang]['tokens']:,} |")
    parts.append("| all | " + " | ".join(f"{t['by_source'][s]['tokens']:,}" for s in sources) + f" | {t['tokens']:,} |")
    steps = funnel(out)
    if steps:
        parts += ["", "## Documents per step", "", "| step | in | kept | dropped | failed |", "|---|---|---|---|---|"]
        parts += [f"| {r['step']} | {r['in']:,} | {r['kept']:,} | {r['dropped']:,} | {r['failed']:,} |" for r in steps]
        parts += ["", "Why each document was kept or dropped: `mmedc audit summary OUT`, `mmedc audit explain OUT ID`."]
    settings = _recipe_settings(recipe)
    if settings is not None:
        parts += ["", "## Recipe", "", "```json", json.dumps(settings, indent=1, ensure_ascii=False, default=str), "```"]
    parts += ["", "## Licence", "",
              "Fill in the licence field above: the output inherits the licences of its sources."]
    if has_text:
        parts += ["", "The `licence` column of the text config is the licence hint found for each document (a "
                  "crawled page's licence link, a PDF's metadata or XMP, a `licence` field of the input; "
                  "null when none was found). Hints are not legal findings: check what you keep, e.g. "
                  "`text.filter(lambda r: (r[\"licence\"] or \"\").startswith(\"https://creativecommons.org/licenses/by/\"))`."]
    parts.append("")
    return "\n".join(parts)


def write_card(out: Path, manifest: dict, recipe=None) -> Path:
    from mmedc.core import storage

    out = storage.path(out)
    path = out / "README.md"
    # Written whole (renamed into place on a disk, one upload on a bucket): never half a card.
    storage.write_bytes(path, render_card(out, manifest, recipe).encode("utf-8"))
    return path
