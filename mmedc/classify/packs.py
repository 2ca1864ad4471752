"""Language packs (`filters/<code>.toml`): LID labels and checks, word splitting, medical term lists
and thresholds.

Adding a language is adding a pack file; nothing in the code names a language. Tables other than
[medical] (e.g. [quality], [pii] of the cleaning stage) are kept in `Pack.extra` for their owners.
"""
from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from mmedc.classify.scripts import SCRIPTS
from mmedc.paths import LANG_CODE, pack_dirs

WORD_SPLITS = ("whitespace", "cjk")
TERM_MATCHES = ("word", "substring")
TIERS = ("strong", "medium", "weak", "negative")
# Default evidence per tier for the `terms` classifier (a pack may override with `term_weights`).
DEFAULT_WEIGHTS = {"strong": 3.0, "medium": 1.5, "weak": 0.5, "negative": -2.0}

_TOP = {"code", "name", "lid_labels", "lid_min_score", "lid_min_score_short", "lid_short_letters", "lid_min_share",
        "scripts", "script_min_share", "scripts_required", "scripts_required_share", "scripts_forbidden",
        "scripts_forbidden_share", "lid_script_decides", "word_split", "tesseract", "medical"}


class PackError(ValueError):
    pass


@dataclass(frozen=True)
class Pack:
    code: str
    name: str
    lid_labels: tuple[str, ...]
    lid_min_score: float | None  # None: the recipe's [langid] min_score
    word_split: str
    keywords: tuple[str, ...]  # the MMedC rule's list
    min_unique: int  # rule: T
    min_density: float  # rule: R
    path: Path | None = None
    # LID: short documents (few letters) are judged with a lower score but must pass the script check;
    # long documents are cut into chunks and the main language must cover `lid_min_share` of them.
    lid_min_score_short: float = 0.3
    lid_short_letters: int = 40
    lid_min_share: float = 0.5
    scripts: tuple[str, ...] = ()  # letters in these scripts must be >= script_min_share of all letters
    script_min_share: float = 0.5
    scripts_required: tuple[str, ...] = ()  # e.g. kana for ja
    scripts_required_share: float = 0.05
    scripts_forbidden: tuple[str, ...] = ()  # e.g. kana for zh
    scripts_forbidden_share: float = 0.1
    lid_script_decides: bool = False  # the script alone decides (zh: Han without kana; ja: kana) when
    tesseract: str = ""                # letters are >= 0.8 in the pack's scripts, whatever fastText says
    # The `terms` classifier: tiered weighted terms ("term*" = prefix, "*term" = suffix, both = substring).
    terms: tuple[tuple[str, float], ...] = ()
    term_match: str = "word"
    terms_min_score: float = 3.0  # evidence needed by a document of terms_length_ref words
    terms_length_ref: int = 60  # longer documents need (words / ref) ** terms_length_power times more evidence
    terms_length_power: float = 0.8
    word_prefixes: tuple[str, ...] = ()  # particles attached before a word (Arabic و ب ل ال ...)
    word_suffixes: tuple[str, ...] = ()  # ... and after it (ة ات ي ...)
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def __hash__(self):  # packs key caches once per document: the generated hash walked every term
        return hash((self.code, self.path, len(self.terms), len(self.keywords)))

    @property
    def cjk(self) -> bool:
        return self.word_split == "cjk"


def _strs(v, where) -> tuple[str, ...]:
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise PackError(f"{where} must be a list of strings")
    return tuple(dict.fromkeys(x.strip().lower() for x in v if x.strip()))


def load_pack_file(path: Path) -> Pack:
    try:
        d = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise PackError(f"{path}: invalid TOML: {e}") from None
    med = d.get("medical", {})
    try:
        weights = dict(DEFAULT_WEIGHTS, **med.get("term_weights", {}))
        terms: dict[str, float] = {}
        for tier in TIERS:
            for t in _strs(med.get(tier, []), f"{path}: [medical] {tier}"):
                if "*" in t.strip("*"):  # would match a literal "*": never
                    raise PackError(f"{path}: [medical] {tier} term {t!r}: '*' only at a term's start or end")
                terms[t] = float(weights[tier])  # a term listed twice keeps its last tier
        word_split = d.get("word_split", "whitespace")
        pack = Pack(
            code=d["code"],
            name=d.get("name", d["code"]),
            lid_labels=tuple(d.get("lid_labels", [d["code"]])),
            lid_min_score=float(d["lid_min_score"]) if "lid_min_score" in d else None,
            lid_min_score_short=float(d.get("lid_min_score_short", 0.3)),
            lid_short_letters=int(d.get("lid_short_letters", 40)),
            lid_min_share=float(d.get("lid_min_share", 0.5)),
            scripts=_strs(d.get("scripts", []), f"{path}: scripts"),
            script_min_share=float(d.get("script_min_share", 0.5)),
            scripts_required=_strs(d.get("scripts_required", []), f"{path}: scripts_required"),
            scripts_required_share=float(d.get("scripts_required_share", 0.05)),
            scripts_forbidden=_strs(d.get("scripts_forbidden", []), f"{path}: scripts_forbidden"),
            scripts_forbidden_share=float(d.get("scripts_forbidden_share", 0.1)),
            lid_script_decides=bool(d.get("lid_script_decides", False)),
            word_split=word_split,
            tesseract=d.get("tesseract", ""),
            keywords=_strs(med.get("keywords", []), f"{path}: [medical] keywords"),
            min_unique=int(med.get("min_unique", 4)),
            min_density=float(med.get("min_density", 0.04)),
            terms=tuple(terms.items()),
            term_match=med.get("term_match", "substring" if word_split == "cjk" else "word"),
            terms_min_score=float(med.get("terms_min_score", 3.0)),
            terms_length_ref=int(med.get("terms_length_ref", 60)),
            terms_length_power=float(med.get("terms_length_power", 0.8)),
            word_prefixes=tuple(med.get("word_prefixes", [])),
            word_suffixes=tuple(med.get("word_suffixes", [])),
            path=Path(path),
            extra={k: v for k, v in d.items() if k not in _TOP},
        )
    except KeyError as e:
        raise PackError(f"{path}: missing key {e}") from None
    except (TypeError, ValueError) as e:
        if isinstance(e, PackError):
            raise
        raise PackError(f"{path}: {e}") from None
    if pack.word_split not in WORD_SPLITS:
        raise PackError(f"{path}: word_split must be one of {WORD_SPLITS}, got {pack.word_split!r}")
    if pack.term_match not in TERM_MATCHES:
        raise PackError(f"{path}: [medical] term_match must be one of {TERM_MATCHES}, got {pack.term_match!r}")
    bad = set(pack.scripts + pack.scripts_required + pack.scripts_forbidden) - set(SCRIPTS)
    if bad:
        raise PackError(f"{path}: unknown script(s) {sorted(bad)}; known: {', '.join(SCRIPTS)}")
    if pack.terms_min_score <= 0 or pack.terms_length_ref <= 0:
        raise PackError(f"{path}: terms_min_score and terms_length_ref must be > 0")
    return pack


# A language code names a file in the packs folder: letters, digits, '_' and '-' only (no path).
CODE_RE = LANG_CODE


def check_code(code) -> str:
    if not isinstance(code, str) or not CODE_RE.fullmatch(code):
        raise PackError(f"language code {code!r} is not a pack name (letters, digits, '_' and '-' only)")
    return code


def load_pack(code: str, directory: str | None = None) -> Pack:
    """The pack `code` from `directory`, else from the first folder of the search path that has it
    (the recipe's `[pipeline] packs`, $MMEDC_PACKS, filters/: mmedc.paths.pack_dirs), parsed once per process."""
    dirs = (Path(directory),) if directory else tuple(pack_dirs())
    return _load_pack(check_code(code), tuple(str(d) for d in dirs))


@functools.cache
def _load_pack(code: str, directories: tuple[str, ...]) -> Pack:
    for d in map(Path, directories):
        if (d / f"{code}.toml").is_file():
            return load_pack_file(d / f"{code}.toml")
    have = available_packs_in(directories)
    where = ", ".join(directories)
    raise PackError(f"no language pack {code!r} in {where} (have: {', '.join(have)}); create one with "
                    f"`mmedc lang add {code} --dir FOLDER` and add FOLDER to $MMEDC_PACKS or the recipe's "
                    "[pipeline] packs")


load_pack.cache_clear = _load_pack.cache_clear  # after a pack file changes (calibrate)


def available_packs_in(directories) -> list[str]:
    return sorted({p.stem for d in directories for p in Path(d).glob("*.toml")})


def available_packs(directory: str | None = None) -> list[str]:
    """Pack codes in `directory`, else in every folder of the search path."""
    return available_packs_in([directory] if directory else pack_dirs())
