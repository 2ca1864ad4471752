"""Packed training sequences read straight from the Parquet shards, and the held-out validation set.

Each epoch, the shards form one token stream: every training document's `input_ids` (each ends with
EOS) back to back. Sequence k of an epoch is stream tokens [k·L, (k+1)·L); only the last partial
sequence of an epoch is left out, so packing wastes nothing else and there is no padding.

Held out: a document whose id hashes below `val_fraction` (xxh64(id) / 2^64, so every copy of an
up-sampled document goes the same way and the split never depends on the seed or the shard layout) is
never trained on; per language, the first `val_tokens` of them form the validation sequences.

Reshuffle: with a `seed`, epoch e visits the shards in a permutation drawn from (seed, e) and the
documents of each shard in a permutation drawn from (seed, e, shard), then packs them; one shard is
in memory at a time, as without shuffling. The writer already shuffled documents across shards.

Which sequences a step reads is a pure function of the step number (global step s takes sequences
[s·G, (s+1)·G), G = global batch in sequences; worker r of W takes its own slice; epoch = sequence //
sequences per epoch), so the data-loader position is just the step: resuming at step s gives exactly
the batch an uninterrupted run would, across epoch boundaries too.

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
import pyarrow as pa
import pyarrow.compute as pc

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


def held_out(ids, fraction: float) -> np.ndarray:
    """True for documents in the validation split: xxh64(id) / 2^64 < fraction."""
    import xxhash

    if fraction <= 0:
        return np.zeros(len(ids), dtype=bool)
    cut = int(fraction * 2**64)
    return np.fromiter((xxhash.xxh64_intdigest(str(i).encode("utf-8")) < cut for i in ids), dtype=bool, count=len(ids))


def _columns(path: Path, columns: list[str]) -> pa.Table:
    have = set(storage.read_parquet_metadata(path).schema.to_arrow_schema().names)
    missing = [c for c in columns if c not in have]
    if missing:
        raise ShardsError(f"{path}: no column {', '.join(missing)} (needed for the validation split)")
    return storage.read_parquet(path, columns=columns)


def _flatten(col) -> tuple[np.ndarray, np.ndarray]:
    """A list<int> column → (all tokens as int64, True where a document starts)."""
    col = col.combine_chunks() if hasattr(col, "combine_chunks") else col
    lengths = pc.list_value_length(col).fill_null(0).to_numpy(zero_copy_only=False)
    values = col.flatten().to_numpy(zero_copy_only=False).astype(np.int64)
    starts = np.zeros(len(values), dtype=bool)
    starts[np.cumsum(lengths)[:-1][lengths[1:] > 0] if len(lengths) > 1 else []] = True
    if len(values):
        starts[0] = True
    return values, starts


def position_ids(doc_start: np.ndarray) -> np.ndarray:
    """Positions restarting at 0 on every document start (and at the start of the sequence)."""
    n = len(doc_start)
    idx = np.arange(n)
    start = np.where(doc_start, idx, 0)
    start[0] = 0
    return idx - np.maximum.accumulate(start)


def _example(ids: np.ndarray, starts: np.ndarray) -> dict[str, np.ndarray]:
    labels = ids.copy()
    labels[starts] = IGNORE_INDEX
    return {"input_ids": ids, "position_ids": position_ids(starts), "labels": labels}


class PackedSequences:
    """Random access to the packed training sequences of `seq_len` tokens (held-out documents left out).

    `seed=None` keeps manifest order in every epoch; a seed reshuffles each epoch (module docstring).
    Caches the two shards it read last (a sequence can straddle two)."""

    def __init__(self, shards: ShardSet, seq_len: int, val_fraction: float = 0.0, seed: int | None = None):
        self.shards = shards
        self.seq_len = seq_len
        self.val_fraction = val_fraction
        self.seed = seed
        if val_fraction > 0:  # tokens each shard keeps for training, from the small id/n_tokens columns
            self.tokens = []
            for f in shards.files:
                t = _columns(f, ["id", "n_tokens"])
                keep = ~held_out(t["id"].to_pylist(), val_fraction)
                self.tokens.append(int(t["n_tokens"].to_numpy(zero_copy_only=False)[keep].sum()))
        else:
            self.tokens = list(shards.tokens)
        self.total_tokens = sum(self.tokens)
        self.per_epoch = self.total_tokens // seq_len
        if self.per_epoch == 0:
            raise ShardsError(f"the shards hold {self.total_tokens} training tokens, fewer than one sequence of {seq_len}")
        self._cache: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}

    @property
    def wasted_tokens(self) -> int:
        """Tokens of the last partial sequence of an epoch: the only ones packing leaves out."""
        return self.total_tokens - self.per_epoch * self.seq_len

    def _rng(self, *key: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, *key])

    def file_order(self, epoch: int) -> np.ndarray:
        n = len(self.shards.files)
        return np.arange(n) if self.seed is None else self._rng(epoch).permutation(n)

    def _file_starts(self, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        order = self.file_order(epoch)
        return order, np.cumsum([0] + [self.tokens[i] for i in order])

    def _file(self, epoch: int, i: int) -> tuple[np.ndarray, np.ndarray]:
        key = (epoch if self.seed is not None else 0, i)
        if key not in self._cache:
            f = self.shards.files[i]
            t = storage.read_parquet(f, columns=["input_ids"] + (["id"] if self.val_fraction > 0 else []))
            col = t["input_ids"].combine_chunks()
            rows = np.arange(len(col))
            if self.val_fraction > 0:
                rows = rows[~held_out(t["id"].to_pylist(), self.val_fraction)]
            if self.seed is not None:
                rows = rows[self._rng(epoch, i).permutation(len(rows))]
            if len(rows) != len(col) or self.seed is not None:
                col = col.take(pa.array(rows, pa.int64()))
            if len(self._cache) >= 2:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = _flatten(col)
        return self._cache[key]

    def _tokens(self, epoch: int, begin: int, end: int) -> tuple[np.ndarray, np.ndarray]:
        """Tokens [begin, end) of one epoch's stream, with document-start flags."""
        order, file_start = self._file_starts(epoch)
        ids, starts = [], []
        j = int(np.searchsorted(file_start, begin, side="right")) - 1
        while begin < end:
            values, flags = self._file(epoch, int(order[j]))
            lo = begin - file_start[j]
            hi = min(end - file_start[j], len(values))
            ids.append(values[lo:hi])
            starts.append(flags[lo:hi])
            begin += hi - lo
            j += 1
        return np.concatenate(ids), np.concatenate(starts)

    def sequence(self, k: int) -> dict[str, np.ndarray]:
        """Sequence k of the endless stream (epoch k // per_epoch): input_ids, position_ids, labels."""
        epoch, k = divmod(k, self.per_epoch)
        return _example(*self._tokens(epoch, k * self.seq_len, (k + 1) * self.seq_len))

    def batch(self, first: int, count: int) -> dict[str, np.ndarray]:
        seqs = [self.sequence(first + j) for j in range(count)]
        return {key: np.stack([s[key] for s in seqs]) for key in seqs[0]}


@dataclass
class Validation:
    """Held-out sequences per language (the last one of a language may be shorter than seq_len)."""
    sequences: dict[str, list[dict[str, np.ndarray]]]
    held_docs: dict[str, int]  # documents held out per language (all of them, evaluated or not)
    held_tokens: dict[str, int]

    @property
    def langs(self) -> list[str]:
        return sorted(self.sequences)

    def items(self) -> list[tuple[str, dict[str, np.ndarray]]]:
        """(language, sequence) in a fixed order: the same on every rank."""
        return [(lang, s) for lang in self.langs for s in self.sequences[lang]]

    def summary(self) -> dict:
        return {lang: {"held_out_docs": self.held_docs[lang], "held_out_tokens": self.held_tokens[lang],
                       "eval_sequences": len(self.sequences.get(lang, [])),
                       "eval_tokens": int(sum(len(s["input_ids"]) for s in self.sequences.get(lang, [])))}
                for lang in sorted(self.held_docs)}


def validation_set(shards: ShardSet, seq_len: int, fraction: float, max_tokens: int) -> Validation:
    """Per language, the held-out documents in manifest order up to `max_tokens`, packed like training.

    Reads the small id/lang/n_tokens columns of every shard, and input_ids only of shards holding a
    chosen document."""
    if fraction <= 0:
        return Validation({}, {}, {})
    docs: dict[str, int] = {}
    tokens: dict[str, int] = {}
    chosen: dict[int, list[tuple[str, int]]] = {}  # file index → (lang, row)
    for fi, f in enumerate(shards.files):
        t = _columns(f, ["id", "lang", "n_tokens"])
        held = np.flatnonzero(held_out(t["id"].to_pylist(), fraction))
        langs, n_tok = t["lang"].to_pylist(), t["n_tokens"].to_numpy(zero_copy_only=False)
        for row in held:
            lang = langs[row] or "und"
            if tokens.get(lang, 0) < max_tokens:
                chosen.setdefault(fi, []).append((lang, int(row)))
            docs[lang] = docs.get(lang, 0) + 1
            tokens[lang] = tokens.get(lang, 0) + int(n_tok[row])
    streams: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for fi, picks in chosen.items():
        col = storage.read_parquet(shards.files[fi], columns=["input_ids"])["input_ids"].combine_chunks()
        for lang, row in picks:
            ids = np.asarray(col[row].values.to_numpy(zero_copy_only=False), dtype=np.int64)
            starts = np.zeros(len(ids), dtype=bool)
            starts[:1] = True
            streams.setdefault(lang, []).append((ids, starts))
    sequences = {}
    for lang, parts in streams.items():
        ids = np.concatenate([p[0] for p in parts])[:max_tokens]
        starts = np.concatenate([p[1] for p in parts])[:max_tokens]
        sequences[lang] = [_example(ids[i:i + seq_len], starts[i:i + seq_len])
                           for i in range(0, len(ids), seq_len) if len(ids) - i >= 2]
    return Validation(sequences, docs, tokens)


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
