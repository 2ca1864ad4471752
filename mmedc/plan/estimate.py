"""A recipe's cost before it runs: counted input × per-core rates, per source and step.

Documents reaching a step are the source's documents times the kept shares of the steps before it
(the medical step's share depends on the source: a general corpus keeps a few percent). A step's
core-seconds are its documents over its rate, scaled by document length against the length the
rates were measured on (langid reads a bounded prefix, so it is not), times the measured end-to-end
overhead. Disk: audit rows of every step, the kept text in work/, dedup signatures, the shards.
Wall time assumes the work spreads over all cores (work units are slices of files).
"""
from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mmedc.plan.count import SourceCount, count_source
from mmedc.plan.rates import SOURCE_KEYS, load_rates


class PlanError(ValueError):
    pass


@dataclass
class StageEstimate:
    step: str
    docs: float  # documents reaching the step (pages for a pdf source's ingest)
    core_hours: float
    disk_bytes: float


@dataclass
class SourcePlan:
    count: SourceCount
    how: str
    docs: float
    pages: float = 0.0  # pdf
    stages: list[StageEstimate] = field(default_factory=list)
    kept_docs: float = 0.0
    kept_text_bytes: float = 0.0

    @property
    def core_hours(self) -> float:
        return sum(s.core_hours for s in self.stages)

    @property
    def disk_bytes(self) -> float:
        return sum(s.disk_bytes for s in self.stages)


@dataclass
class Plan:
    recipe: str
    cores: int
    order: list[str]
    sources: list[SourcePlan]
    rates_measured: str = ""

    @property
    def core_hours(self) -> float:
        return sum(s.core_hours for s in self.sources)

    @property
    def disk_bytes(self) -> float:
        return sum(s.disk_bytes for s in self.sources)

    def stage_totals(self) -> dict[str, StageEstimate]:
        out: dict[str, StageEstimate] = {}
        for sp in self.sources:
            for st in sp.stages:
                t = out.setdefault(st.step, StageEstimate(st.step, 0.0, 0.0, 0.0))
                t.docs += st.docs
                t.core_hours += st.core_hours
                t.disk_bytes += st.disk_bytes
        return out

    def to_dict(self) -> dict:
        return {
            "recipe": self.recipe, "cores": self.cores, "order": self.order,
            "core_hours": self.core_hours, "wall_hours": self.core_hours / self.cores, "disk_bytes": self.disk_bytes,
            "sources": [{"name": sp.count.name, "kind": sp.count.kind, "how": sp.how, "docs": sp.docs,
                         "files": sp.count.files, "pages": sp.pages, "missing": sp.count.missing,
                         "errors": sp.count.errors, "kept_docs": sp.kept_docs, "core_hours": sp.core_hours,
                         "disk_bytes": sp.disk_bytes, "stages": [asdict(s) for s in sp.stages]}
                        for sp in self.sources],
        }


def read_recipe(path: Path) -> dict:
    """The recipe's raw tables. Only what a plan needs is read, and paths are not checked: a plan is
    made before the data is there."""
    if not path.exists():
        raise PlanError(f"recipe {path} not found")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise PlanError(f"{path}: invalid TOML: {e}") from None
    if not data.get("sources"):
        raise PlanError(f"{path}: no [[sources]]")
    return data


def step_order(data: dict, rates: dict) -> list[str]:
    """The steps this recipe runs, in order: the recipe's [pipeline] steps, else the rates' order;
    steps the recipe switches off (quality / pii `enabled = false`, decontam without an index) left out."""
    order = list(data.get("pipeline", {}).get("steps") or rates["order"]["steps"])
    if "ingest" not in order:
        order.insert(0, "ingest")
    off = {s for s in ("quality", "pii") if data.get(s, {}).get("enabled") is False}
    if not data.get("decontam", {}).get("index"):
        off.add("decontam")
    dd = data.get("dedup", {})
    if dd.get("exact") is False and dd.get("near") is False:
        off.add("dedup")
    return [s for s in order if s not in off]


def plan_source(sc: SourceCount, order: list[str], rates: dict, assume: dict) -> SourcePlan:
    kind = sc.kind
    over = {**rates.get("sources", {}).get(sc.name, {}), **assume.get(sc.name, {})}
    pages = sc.pages
    if sc.found:
        docs, how = sc.docs, sc.how
    elif "docs" in over or "pages" in over:
        how = "assumed"
        pages = float(over.get("pages", 0))
        docs = float(over.get("docs", pages / rates["pdf"]["pages_per_book"] if kind == "pdf" else 0))
        if kind == "pdf" and not pages:
            pages = docs * rates["pdf"]["pages_per_book"]
    else:
        docs, how = 0.0, sc.how  # "not found" / "unknown kind"
    sp = SourcePlan(sc, how, docs, pages)
    if not docs:
        return sp
    text_bytes = sc.text_bytes_per_doc or over.get("text_bytes_per_doc")
    if not text_bytes:
        text_bytes = (rates["text_bytes"]["pdf_page"] * pages / docs) if kind == "pdf" else rates["text_bytes"].get(kind, 2000)
    ref = rates["length"]["ref_bytes"]
    length = max(1.0, text_bytes / ref)
    overhead = rates["overhead"]["factor"]
    disk = rates["disk"]
    cur = docs
    for step in order:
        if step == "ingest":
            ing = rates["ingest"]
            if kind == "pdf":
                scanned = over.get("scanned_share", sc.scanned_share if sc.scanned_share is not None else rates["pdf"]["scanned_share"])
                secs = pages * (1 - scanned) / ing["pdf_text"] + pages * scanned / ing["pdf_ocr"]
            else:
                secs = cur / ing[kind]
            kept = rates["kept"].get("ingest", 1.0)
        else:
            rate = rates["steps"].get(step)
            if not rate:
                raise PlanError(f"no rate for step {step!r}: add it to [steps] of a --rates file")
            secs = cur * (1.0 if step in rates["length"]["fixed"] else length) / rate
            kept = over.get("medical_kept", rates["medical_kept"].get(kind, 1.0)) if step == "medical" \
                else rates["kept"].get(step, 1.0)
        bytes_ = cur * disk["audit_bytes_per_row"]
        if step == "ingest":  # an engine that writes every ingested text to work/ (0 when ingest is fused)
            bytes_ += cur * text_bytes * disk.get("work_bytes_per_input_byte", 0.0)
        if step == "dedup":  # its input is the kept text in work/, plus the signatures it writes
            bytes_ += cur * text_bytes * disk["work_bytes_per_kept_byte"] + cur * disk["dedup_bytes_per_doc"]
        if step == "tokenize":
            bytes_ += cur * kept * text_bytes * disk["shard_bytes_per_kept_byte"]
        sp.stages.append(StageEstimate(step, cur, secs * overhead / 3600, bytes_))
        cur *= kept
    sp.kept_docs = cur
    sp.kept_text_bytes = cur * text_bytes
    return sp


def parse_count(s: str) -> float:
    """'1.5e9', '3,241,065,682', '812k', '3.2M', '5B' → a number."""
    t = s.strip().replace(",", "").replace("_", "")
    mult = {"k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12}.get(t[-1:].lower(), 1)
    try:
        return float(t[:-1] if mult != 1 else t) * mult
    except ValueError:
        raise PlanError(f"not a number: {s!r}") from None


def parse_assume(items: list[str]) -> dict[str, dict]:
    """`--assume-docs` values: NAME=N (pages for pdf sources: NAME=pages:N), or a TOML file of
    `NAME = N` / `[NAME] docs = N, pages = N, medical_kept = 0.9`."""
    out: dict[str, dict] = {}
    for it in items:
        if "=" in it:
            name, val = it.split("=", 1)
            key = "docs"
            if val.startswith("pages:"):
                key, val = "pages", val[len("pages:"):]
            out.setdefault(name.strip(), {})[key] = parse_count(val)
            continue
        p = Path(it)
        if not p.exists():
            raise PlanError(f"--assume-docs {it!r}: neither NAME=N nor an existing TOML file")
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as e:
            raise PlanError(f"{p}: invalid TOML: {e}") from None
        for name, v in data.items():
            v = v if isinstance(v, dict) else {"docs": v}
            if set(v) - SOURCE_KEYS or not all(isinstance(x, (int, float)) for x in v.values()):
                raise PlanError(f"{p} [{name}]: numbers for keys among {sorted(SOURCE_KEYS)}, got {v}")
            out.setdefault(name, {}).update({k: float(x) for k, x in v.items()})
    return out


def make_plan(recipe: Path, cores: int, rates_file: Path | None = None, assume: list[str] | None = None) -> Plan:
    recipe = Path(recipe)
    data = read_recipe(recipe)
    rates = load_rates(rates_file)
    order = step_order(data, rates)
    assumed = parse_assume(assume or [])
    names = {s.get("name") for s in data["sources"]}
    if set(assumed) - names:
        raise PlanError(f"--assume-docs names unknown source(s) {sorted(set(assumed) - names)}; sources: {sorted(names)}")
    base = recipe.resolve().parent
    sources = [plan_source(count_source(s, base), order, rates, assumed) for s in data["sources"]]
    return Plan(str(recipe), cores, order, sources, rates.get("measured", {}).get("on", ""))
