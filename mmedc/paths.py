"""Where the project's data folders live: language packs, OCR settings, recipes, dev data."""
from __future__ import annotations

import functools
import os
from pathlib import Path

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


def packs_dir() -> Path:
    """Language packs (`filters/<code>.toml`); MMEDC_PACKS overrides."""
    return _dir("MMEDC_PACKS", ROOT / "filters")


def ocr_dir() -> Path:
    """OCR settings per language (`ocr/<code>.toml`); MMEDC_OCR overrides."""
    return _dir("MMEDC_OCR", ROOT / "ocr")


def pipelines_dir() -> Path:
    return ROOT / "pipelines"


def dev_data_dir() -> Path | None:
    """Third-party development data (`../shared/data`); None when absent. MMEDC_DEV_DATA overrides."""
    p = _dir("MMEDC_DEV_DATA", ROOT.parent / "shared" / "data")
    return p if p.is_dir() else None
