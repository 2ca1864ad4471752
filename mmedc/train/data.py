"""Packed training sequences read straight from the Parquet shards.

The shards, in manifest order, form one token stream: every document's `input_ids` (each ends with
EOS) back to back. Sequence k of an epoch is stream tokens [k·L, (k+1)·L); only the last partial
sequence of an epoch is left out, so packing wastes nothing else and there is no padding.

Which sequences a step reads is a pure function of the step number (global step s takes sequences
[s·G, (s+1)·G), G = global batch in sequences; worker r of W takes its own slice), so the data-loader
position is just the step: resuming at step s gives exactly the batch an uninterrupted run would.

`position_ids` restart at 0 on every document. With no attention mask, transformers' Llama turns
restarting positions into a block-diagonal causal mask (masking_utils.find_packed_sequence_indices),
so attention does not cross document boundaries; labels are -100 on the first token of every
document, so no document is asked to predict the next one's first token.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mmedc.core import storage

IGNORE_INDEX = -100


class ShardsError(ValueError):
    pass


@dataclass
class ShardSet:
    """The shards of a run, in manifest order, with their token counts and the tokenizer's facts."""
    files: list[Path]
    tokens: list[int]
    eos_id: int
    vocab_size: int
    manifest: dict

    @property
    def total_tokens(self) -> int:
        return sum(self.tokens)


def load_shards(path: str | Path) -> ShardSet:
    """`path`: a run folder (holding manifest.json), its shards/ folder, or the manifest itself; a
    local path or a URI (s3://bucket/run: each worker reads the shards from the bucket)."""
    p = storage.resolve(path)
    if not p.exists():
        raise ShardsError(f"{path} not found")
    candidates = [p] if p.is_file() else [p / "manifest.json"] + ([p.parent / "manifest.json"] if p.name == "shards" else [])
    manifest_path = next((c for c in candidates if c.is_file()), None)
    if manifest_path is None:
        raise ShardsError(f"{path}: no manifest.json (give a run folder made by `mmedc run`, or its shards/)")
    m = json.loads(manifest_path.read_text())
    files, tokens = [], []
    for s in m.get("shards", []):
        f = manifest_path.parent / s["file"]
        if not f.exists():
            raise ShardsError(f"{f} is listed in {manifest_path} but missing")
        if s["tokens"]:
            files.append(f)
            tokens.append(int(s["tokens"]))
    if not files:
        raise ShardsError(f"{manifest_path}: no shard holds any tokens")
    tok = m["tokenizer"]
    return ShardSet(files, tokens, int(tok["eos_id"]), int(tok["vocab_size"]), m)


def position_ids(doc_start: np.ndarray) -> np.ndarray:
    """Positions restarting at 0 on every document start (and at the start of the sequence)."""
    n = len(doc_start)
    idx = np.arange(n)
    start = np.where(doc_start, idx, 0)
    start[0] = 0
    return idx - np.maximum.accumulate(start)


class PackedSequences:
    """Random access to packed sequences of `seq_len` tokens; caches the shard it read last."""

    def __init__(self, shards: ShardSet, seq_len: int):
        self.shards = shards
        self.seq_len = seq_len
        self.per_epoch = shards.total_tokens // seq_len
        if self.per_epoch == 0:
            raise ShardsError(f"the shards hold {shards.total_tokens} tokens, fewer than one sequence of {seq_len}")
        self._file_start = np.cumsum([0] + shards.tokens)
        self._cached: tuple[int, np.ndarray, np.ndarray] | None = None

    @property
    def wasted_tokens(self) -> int:
        """Tokens of the last partial sequence of an epoch: the only ones packing leaves out."""
        return self.shards.total_tokens - self.per_epoch * self.seq_len

    def _file(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        if self._cached is None or self._cached[0] != i:
            col = storage.read_parquet(self.shards.files[i], columns=["input_ids"])["input_ids"].combine_chunks()
            offsets = col.offsets.to_numpy()
            values = col.values.to_numpy().astype(np.int64)  # the slice of the column, from offsets[0]
            starts = np.zeros(len(values), dtype=bool)
            starts[(offsets[:-1] - offsets[0])[np.diff(offsets) > 0]] = True
            self._cached = (i, values, starts)
        return self._cached[1], self._cached[2]

    def _tokens(self, begin: int, end: int) -> tuple[np.ndarray, np.ndarray]:
        """Stream tokens [begin, end) of one epoch, with document-start flags."""
        ids, starts = [], []
        i = int(np.searchsorted(self._file_start, begin, side="right")) - 1
        while begin < end:
            values, flags = self._file(i)
            lo = begin - self._file_start[i]
            hi = min(end - self._file_start[i], len(values))
            ids.append(values[lo:hi])
            starts.append(flags[lo:hi])
            begin += hi - lo
            i += 1
        return np.concatenate(ids), np.concatenate(starts)

    def sequence(self, k: int) -> dict[str, np.ndarray]:
        """Sequence k of the endless stream (epoch k // per_epoch): input_ids, position_ids, labels."""
        k %= self.per_epoch
        ids, starts = self._tokens(k * self.seq_len, (k + 1) * self.seq_len)
        labels = ids.copy()
        labels[starts] = IGNORE_INDEX
        return {"input_ids": ids, "position_ids": position_ids(starts), "labels": labels}

    def batch(self, first: int, count: int) -> dict[str, np.ndarray]:
        seqs = [self.sequence(first + j) for j in range(count)]
        return {key: np.stack([s[key] for s in seqs]) for key in seqs[0]}


@dataclass(frozen=True)
class BatchPlan:
    """Which sequences each worker reads at each step: global batch = micro_batch × world × grad_accum."""
    micro_batch: int
    grad_accum: int
    world: int

    @property
    def global_batch(self) -> int:
        return self.micro_batch * self.grad_accum * self.world

    def first_sequence(self, step: int, rank: int, micro_step: int) -> int:
        return step * self.global_batch + (micro_step * self.world + rank) * self.micro_batch
