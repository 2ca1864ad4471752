"""Per-core rates and kept shares that `mmedc plan` multiplies the counted input by.

Defaults live in `rates.toml` beside this module (measured on the 2-core development machine;
`python -m mmedc.bench.scale --write-rates` rewrites it). `mmedc plan --rates FILE` merges a file of
the same shape over them (any subset of keys), plus `[sources.NAME]` tables that override, for one
source: `docs` / `pages` (size assumed when its files are absent), `medical_kept`, `text_bytes_per_doc`.
"""
from __future__ import annotations

import copy
import json
import tomllib
from pathlib import Path

DEFAULT_PATH = Path(__file__).with_name("rates.toml")

# Comments written above each table when the file is rewritten.
TABLES = {
    "measured": "What the figures below come from (rewritten by `python -m mmedc.bench.scale --write-rates`).",
    "order": "Steps in the order a run applies them; a recipe's [pipeline] steps wins.",
    "ingest": "Reading + extraction, per core per second: documents (parquet, jsonl, text: jsonl's rate, the\n"
              "same line reader), pages (html, warc records; pdf_text = text-layer pages, pdf_ocr = OCR pages).",
    "steps": "Documents per second on one core, of the documents that reach the step (each step's own code).",
    "length": "Rates are per document of ref_bytes text; a longer document costs proportionally more, except\n"
              "in the `fixed` steps (langid reads a bounded prefix).",
    "overhead": "End-to-end CPU of a run over the sum of its steps' own CPU (Ray, audit rows, Parquet I/O,\n"
                "scheduling); measured by the scale benchmark; multiplies every step's core-hours.",
    "kept": "Share of the documents reaching a step that pass it.",
    "medical_kept": "Share kept by the medical step, per source kind: general corpora keep a few percent,\n"
                    "medical sites, textbooks and medical corpora most of it. [sources.NAME] medical_kept wins.",
    "text_bytes": "Text bytes per document where the input does not say (parquet footers and jsonl samples do).",
    "pdf": "Books: share of pages needing OCR when no page could be sampled.",
    "disk": "Disk written by a run: audit bytes per audit row; work/ bytes per input text byte (a copy of every\n"
            "ingested text: 0 once ingest and the filters are fused) and per kept text byte (intermediate\n"
            "Parquet); dedup bytes per document signed (signatures, shingles); shard bytes per kept text byte.",
}


class RatesError(ValueError):
    pass


SOURCE_KEYS = {"docs", "pages", "medical_kept", "text_bytes_per_doc", "scanned_share"}


def _merge(base: dict, over: dict, where: str) -> dict:
    """`over` on top of `base`; a table `base` does not have is an error (a typo must not be ignored),
    new keys inside a known table are fine (a new step brings its own rate)."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        if k == "sources" and not where.endswith("]"):
            for name, t in v.items():
                if not isinstance(t, dict) or set(t) - SOURCE_KEYS:
                    raise RatesError(f"{where} [sources.{name}]: keys must be among {sorted(SOURCE_KEYS)}")
                out.setdefault("sources", {}).setdefault(name, {}).update(t)
        elif isinstance(v, dict):
            if not isinstance(out.get(k), dict):
                raise RatesError(f"{where}: unknown table [{k}]; known: {sorted(set(base) | {'sources'})}")
            out[k] = _merge(out[k], v, f"{where} [{k}]")
        else:
            out[k] = v
    return out


def load_rates(path: str | Path | None = None) -> dict:
    """The default rates, with `path` merged over them."""
    rates = tomllib.loads(DEFAULT_PATH.read_text(encoding="utf-8"))
    if path:
        p = Path(path)
        if not p.exists():
            raise RatesError(f"rates file {p} not found")
        try:
            rates = _merge(rates, tomllib.loads(p.read_text(encoding="utf-8")), str(p))
        except tomllib.TOMLDecodeError as e:
            raise RatesError(f"{p}: invalid TOML: {e}") from None
    return rates


def _value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    raise RatesError(f"cannot write {v!r} to TOML")


def dumps(rates: dict) -> str:
    """The rates as TOML, each table under its comment (tables of tables, e.g. [sources.x], nested)."""
    lines = ["# Rates for `mmedc plan` (mmedc/plan/rates.py says how they are used).", ""]

    def table(name: str, d: dict):
        if name in TABLES:
            lines.extend("# " + c for c in TABLES[name].split("\n"))
        lines.append(f"[{name}]")
        subs = []
        for k, v in d.items():
            if isinstance(v, dict):
                subs.append((k, v))
            else:
                lines.append(f"{json.dumps(k) if not k.replace('_', '').isalnum() else k} = {_value(v)}")
        lines.append("")
        for k, v in subs:
            table(f"{name}.{json.dumps(k) if not k.replace('_', '').replace('-', '').isalnum() else k}", v)

    for name, d in rates.items():
        table(name, d)
    return "\n".join(lines)


def update_measured(measured: dict, path: Path = DEFAULT_PATH) -> Path:
    """Rewrite the rates file with the benchmark's figures: `measured` holds `steps` (docs/s of each
    step's code), `ingest_parquet`, `overhead`, `disk` and a description, merged over what is there."""
    rates = tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    rates.setdefault("measured", {})["on"] = measured.get("on", "")
    for k in ("end_to_end_docs_per_core_s", "datatrove_docs_per_core_s"):
        if k in measured:
            rates["measured"][k] = measured[k]
    rates.setdefault("steps", {}).update({k: v for k, v in measured.get("steps", {}).items() if k != "ingest"})
    if "ingest" in measured.get("steps", {}):
        rates.setdefault("ingest", {})["parquet"] = measured["steps"]["ingest"]
    if measured.get("ref_bytes"):
        rates.setdefault("length", {})["ref_bytes"] = measured["ref_bytes"]
    if "overhead" in measured:
        rates.setdefault("overhead", {})["factor"] = measured["overhead"]
    rates.setdefault("disk", {}).update(measured.get("disk", {}))
    path.write_text(dumps(rates), encoding="utf-8")
    return path
