"""The reader contract and its registry, and the work unit a task reads.

A reader turns one input file (or one part of it) into Records. It registers with the file suffixes
it reads and, when a file can be cut into parts, a `split` function that returns the parts (row
ranges of Parquet row groups, byte ranges of a plain JSONL file, ...). A task then reads one part,
so a file of any size is many tasks of bounded size.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from mmedc.core.registry import Registry

READERS = Registry("source kind", ("mmedc.sources.corpus", "mmedc.sources.web", "mmedc.sources.books",
                                   "mmedc.sources.text"))


@dataclass(frozen=True)
class ReaderSpec:
    kind: str
    read: Callable  # read(src, path, **options) -> Iterator[Record]; options: part=(start, end), ocr=...
    suffixes: tuple[str, ...]
    split: Callable | None = None  # split(src, path, unit_docs, unit_bytes) -> [(start, end, est_docs)]
    options: tuple[str, ...] = ()  # extra settings it takes from the recipe ("ocr")
    # A reader that picks its own input files (a book list): inputs(src, base_dir) -> files, or None for
    # the source's `paths`; languages(src) -> the languages its settings name (for the fingerprint).
    # Errors in those settings are ValueErrors (the recipe reports them).
    inputs: Callable | None = None
    languages: Callable | None = None


@dataclass(frozen=True)
class WorkUnit:
    """One task's input: a file, or a part of it. `shard` names it in the audit and the work folder;
    it is stable across runs for the same input (resume and byte-identical reruns rely on it)."""
    source_index: int
    path: str
    shard: str
    part: tuple[int, int] | None = None  # reader-specific [start, end): rows or bytes
    docs: int | None = None  # documents in the unit when known from metadata (progress, plan)


def reader(kind: str, suffixes: tuple[str, ...], split: Callable | None = None, options: tuple[str, ...] = (),
           inputs: Callable | None = None, languages: Callable | None = None):
    """Function decorator: register a reader for source `kind`."""
    def deco(fn):
        READERS.add(kind, ReaderSpec(kind, fn, tuple(suffixes), split, tuple(options), inputs, languages))
        return fn
    return deco


__all__ = ["reader", "READERS", "ReaderSpec", "WorkUnit"]
