"""Language packs (`filters/<code>.toml`): LID labels, word splitting, medical keywords and thresholds.

Adding a language is adding a pack file; nothing in the code names a language.
"""
from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from mmedc.paths import packs_dir

WORD_SPLITS = ("whitespace", "cjk")


class PackError(ValueError):
    pass


@dataclass(frozen=True)
class Pack:
    code: str
    name: str
    lid_labels: tuple[str, ...]
    lid_min_score: float
    word_split: str
    keywords: tuple[str, ...]
    min_unique: int
    min_density: float
    path: Path | None = None
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def cjk(self) -> bool:
        return self.word_split == "cjk"


def load_pack_file(path: Path) -> Pack:
    try:
        d = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise PackError(f"{path}: invalid TOML: {e}") from None
    med = d.get("medical", {})
    try:
        pack = Pack(
            code=d["code"],
            name=d.get("name", d["code"]),
            lid_labels=tuple(d.get("lid_labels", [d["code"]])),
            lid_min_score=float(d.get("lid_min_score", 0.5)),
            word_split=d.get("word_split", "whitespace"),
            keywords=tuple(dict.fromkeys(k.strip().lower() for k in med.get("keywords", []) if k.strip())),
            min_unique=int(med.get("min_unique", 4)),
            min_density=float(med.get("min_density", 0.04)),
            path=path,
            extra={k: v for k, v in d.items() if k not in {"code", "name", "lid_labels", "lid_min_score",
                                                        "word_split", "medical"}},
        )
    except KeyError as e:
        raise PackError(f"{path}: missing key {e}") from None
    if pack.word_split not in WORD_SPLITS:
        raise PackError(f"{path}: word_split must be one of {WORD_SPLITS}, got {pack.word_split!r}")
    return pack


@functools.cache
def load_pack(code: str, directory: str | None = None) -> Pack:
    d = Path(directory) if directory else packs_dir()
    path = d / f"{code}.toml"
    if not path.exists():
        have = sorted(p.stem for p in d.glob("*.toml"))
        raise PackError(f"no language pack {code!r} in {d} (have: {', '.join(have)}); add one with `mmedc lang add {code}`")
    return load_pack_file(path)


def available_packs() -> list[str]:
    return sorted(p.stem for p in packs_dir().glob("*.toml"))
