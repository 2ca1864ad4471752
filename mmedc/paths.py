"""Where the project's data folders live: language packs, OCR settings, recipes, dev data."""
from __future__ import annotations

import functools
import os
import re
from pathlib import Path

# A language code names files (filters/<code>.toml, ocr/<code>.toml), never a path.
LANG_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")

# The repository root (mmedc is installed editable by `make setup`, so data folders sit beside it).
ROOT = Path(__file__).resolve().parent.parent


def _dir(env: str, default: Path) -> Path:
    value = os.environ.get(env)
    if not value:
        return default
    from mmedc.core.storage import is_uri

    return _remote_dir(value) if is_uri(value) else Path(value).resolve()


@functools.cache
def _remote_dir(uri: str) -> Path:
    """A settings folder in a bucket (a cluster run's copy in OUT/work/settings/): this node's local
    copy, made once per process (a run's workers are new processes)."""
    from mmedc.core.storage import local_dir, path

    p = path(uri)
    return local_dir(p, sorted(q.name for q in p.glob("*.toml")))


BUILTIN_PACKS = ROOT / "filters"
# Folders named by the recipe being run (`[pipeline] packs`), searched first; set by the recipe
# when it is loaded and again in every task that receives it (mmedc.config.Recipe.__setstate__).
_RECIPE_PACKS: list[Path] = []


def use_pack_dirs(dirs) -> None:
    """Search these folders (the recipe's `[pipeline] packs`) before $MMEDC_PACKS and filters/."""
    _RECIPE_PACKS[:] = [Path(d).resolve() for d in dirs or []]


def pack_dirs() -> list[Path]:
    """Folders searched for a language pack `<code>.toml`, first match wins: the recipe's
    `[pipeline] packs`, then $MMEDC_PACKS (several folders separated by ':'), then the built-in
    filters/. A user folder holding only `it.toml` adds Italian; its `en.toml` replaces the shipped one."""
    env = _env_pack_dirs()
    out: list[Path] = []
    for d in [*_RECIPE_PACKS, *env, BUILTIN_PACKS]:
        if d not in out:
            out.append(d)
    return out


def find_pack(code: str) -> Path | None:
    """The file of pack `code` in the search order of pack_dirs(); None when no folder has it."""
    for d in pack_dirs():
        if (d / f"{code}.toml").is_file():
            return d / f"{code}.toml"
    return None


def packs_dir() -> Path:
    """Where `mmedc lang add / calibrate` write a pack: the first $MMEDC_PACKS folder, else filters/."""
    env = _env_pack_dirs()
    return env[0] if env else BUILTIN_PACKS


def _env_pack_dirs() -> list[Path]:
    """$MMEDC_PACKS: folders separated by ':', or one URI (a cluster run's copy in a bucket)."""
    value = os.environ.get("MMEDC_PACKS", "")
    if not value.strip():
        return []
    from mmedc.core.storage import is_uri

    if is_uri(value):
        return [_remote_dir(value)]
    return [Path(p).resolve() for p in value.split(os.pathsep) if p.strip()]


def ocr_dir() -> Path:
    """OCR settings per language (`ocr/<code>.toml`); MMEDC_OCR overrides."""
    return _dir("MMEDC_OCR", ROOT / "ocr")


def pipelines_dir() -> Path:
    return ROOT / "pipelines"


def dev_data_dir() -> Path | None:
    """Third-party development data (`../shared/data`); None when absent. MMEDC_DEV_DATA overrides."""
    p = _dir("MMEDC_DEV_DATA", ROOT.parent / "shared" / "data")
    return p if p.is_dir() else None
