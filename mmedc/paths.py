"""Where the project's data folders live: language packs, OCR settings, recipes, dev data."""
from __future__ import annotations

import os
from pathlib import Path

# The repository root (mmedc is installed editable by `make setup`, so data folders sit beside it).
ROOT = Path(__file__).resolve().parent.parent


def _dir(env: str, default: Path) -> Path:
    return Path(os.environ[env]).resolve() if os.environ.get(env) else default


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
