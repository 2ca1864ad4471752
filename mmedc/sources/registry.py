"""Reads a work unit (a file or a part of it) with the reader registered for its source kind."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from mmedc.core.readers import READERS, WorkUnit
from mmedc.core.record import Record


def read_file(src, path: Path, ocr=None, part: tuple[int, int] | None = None, limits=None) -> Iterator[Record]:
    """The records of one input file (or of `part` of it), by the source's kind."""
    spec = READERS.get(src.kind)
    kw = {}
    if part is not None:
        kw["part"] = part
    if "ocr" in spec.options:
        kw["ocr"] = ocr
    if "limits" in spec.options and limits is not None:  # [limits] of the recipe (docs/engine.md#limits)
        kw["limits"] = limits
    return spec.read(src, Path(path), **kw)


def read_unit(src, unit: WorkUnit, ocr=None, limits=None) -> Iterator[Record]:
    return read_file(src, Path(unit.path), ocr, unit.part, limits)
