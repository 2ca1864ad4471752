"""Packing and attention isolation of the training stage (no Ray): exact token accounting on the sample
shards and on hand-made shards whose sequences cross file boundaries."""
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mmedc.train.data import IGNORE_INDEX, BatchPlan, PackedSequences, ShardsError, load_shards

EOS = 99


def stream_of(shards):
    docs = [d for f in shards.files for d in pq.read_table(f)["input_ids"].to_pylist()]
    return np.concatenate([np.array(d) for d in docs]), docs


@pytest.fixture()
def handmade(tmp_path):
    """Two shards of short documents (each ends with EOS), listed in a manifest like `mmedc run` writes."""
    rng = np.random.default_rng(0)
    shards = []
    for j, n_docs in enumerate((7, 5)):
        docs = [list(rng.integers(1, 50, size=rng.integers(1, 9))) + [EOS] for _ in range(n_docs)]
        t = pa.table({"id": [f"{j}-{i}" for i in range(n_docs)], "lang": ["en"] * n_docs, "source": ["x"] * n_docs,
                      "input_ids": pa.array(docs, pa.list_(pa.int32())), "n_tokens": pa.array([len(d) for d in docs], pa.int32())})
        (tmp_path / "shards").mkdir(exist_ok=True)
        pq.write_table(t, tmp_path / "shards" / f"s{j}.parquet")
        shards.append({"file": f"shards/s{j}.parquet", "rows": n_docs, "tokens": sum(map(len, docs))})
    (tmp_path / "manifest.json").write_text(json.dumps(
        {"tokenizer": {"eos_id": EOS, "vocab_size": 100}, "shards": shards}))
    return tmp_path


@pytest.mark.parametrize("seq_len", [3, 7, 16])
def test_packing_keeps_every_token_but_the_last_partial_sequence(handmade, seq_len):
    shards = load_shards(handmade / "shards")  # the shards/ folder finds ../manifest.json
    stream, docs = stream_of(shards)
    seqs = PackedSequences(shards, seq_len)
    assert seqs.per_epoch == len(stream) // seq_len and seqs.wasted_tokens == len(stream) % seq_len < seq_len
    packed = np.concatenate([seqs.sequence(k)["input_ids"] for k in range(seqs.per_epoch)])
    assert np.array_equal(packed, stream[: seqs.per_epoch * seq_len])  # in order, no padding, nothing skipped
    # The stream is endless: the next epoch starts over.
    assert np.array_equal(seqs.sequence(seqs.per_epoch)["input_ids"], seqs.sequence(0)["input_ids"])
    # Position ids restart at every document start, labels never ask to predict a document's first token.
    starts = np.zeros(len(stream), bool)
    starts[np.cumsum([0] + [len(d) for d in docs[:-1]])] = True
    for k in range(seqs.per_epoch):
        s = seqs.sequence(k)
        st = starts[k * seq_len:(k + 1) * seq_len]
        assert np.array_equal(s["labels"] == IGNORE_INDEX, st)
        assert s["position_ids"][0] == 0 and np.all(s["position_ids"][st] == 0)
        assert np.all(np.diff(s["position_ids"])[~st[1:]] == 1)


def test_packing_on_the_sample_shards(sample_run):
    shards = load_shards(sample_run)
    stream, _ = stream_of(shards)
    assert len(stream) == shards.total_tokens == json.loads((sample_run / "manifest.json").read_text())["totals"]["tokens"]
    seqs = PackedSequences(shards, 64)
    b = seqs.batch(0, seqs.per_epoch)
    assert b["input_ids"].shape == (seqs.per_epoch, 64)
    assert np.array_equal(b["input_ids"].ravel(), stream[: seqs.per_epoch * 64])
    assert (b["input_ids"] == shards.eos_id).sum() >= len(shards.files)


def test_batch_plan_covers_each_sequence_once():
    for world, micro, accum in ((1, 4, 1), (2, 2, 1), (2, 1, 3), (3, 2, 2)):
        plan = BatchPlan(micro, accum, world)
        seen = [plan.first_sequence(step, r, a) + i for step in range(5) for r in range(world)
                for a in range(accum) for i in range(micro)]
        assert sorted(seen) == list(range(5 * plan.global_batch))
    # The same global batch whatever the split: 1 worker × 2 micro-steps reads what 2 workers read.
    one, two = BatchPlan(2, 2, 1), BatchPlan(2, 1, 2)
    assert {one.first_sequence(3, 0, a) for a in range(2)} == {two.first_sequence(3, r, 0) for r in range(2)}


def test_shard_errors_are_clear(tmp_path, handmade):
    with pytest.raises(ShardsError, match="not found"):
        load_shards(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ShardsError, match="no manifest.json"):
        load_shards(tmp_path / "empty")
    with pytest.raises(ShardsError, match="fewer than one sequence"):
        PackedSequences(load_shards(handmade), 10_000)
    (handmade / "shards" / "s1.parquet").unlink()
    with pytest.raises(ShardsError, match="missing"):
        load_shards(handmade)


def test_attention_stays_inside_documents():
    """A document packed after another gets the logits it gets alone; without position resets it does not."""
    import torch

    from mmedc.train.model import build_model, resolve_model

    model = build_model(resolve_model("tiny-llama"), 128256, 128001, seed=0).eval()
    a, b = [5, 6, 7, 8, 128001], [9, 10, 11, 128001]
    packed = torch.tensor([a + b])
    with torch.no_grad():
        alone = model(input_ids=torch.tensor([b]), use_cache=False).logits[0]
        pos = torch.tensor([list(range(len(a))) + list(range(len(b)))])
        isolated = model(input_ids=packed, position_ids=pos, use_cache=False).logits[0, len(a):]
        crossing = model(input_ids=packed, use_cache=False).logits[0, len(a):]
    assert torch.allclose(isolated, alone, atol=1e-5)
    assert not torch.allclose(crossing, alone, atol=1e-3)


def _docs_of_epoch(seqs, epoch):
    """The documents of one epoch, cut from its stream at the document-start flags (seq_len 1: nothing wasted)."""
    ids = [int(seqs.sequence(epoch * seqs.per_epoch + k)["input_ids"][0]) for k in range(seqs.per_epoch)]
    starts = [seqs.sequence(epoch * seqs.per_epoch + k)["labels"][0] == IGNORE_INDEX for k in range(seqs.per_epoch)]
    docs = []
    for tok, st in zip(ids, starts):
        if st:
            docs.append([])
        docs[-1].append(tok)
    return docs


def test_held_out_documents_never_train_and_epochs_reshuffle(handmade):
    from mmedc.train.data import held_out, validation_set

    shards = load_shards(handmade)
    table = pa.concat_tables([pq.read_table(f) for f in shards.files])
    ids, docs = table["id"].to_pylist(), table["input_ids"].to_pylist()
    held = held_out(ids, 0.3)
    assert 0 < held.sum() < len(ids)
    assert np.array_equal(held, held_out(list(reversed(ids)), 0.3)[::-1])  # a function of the id alone
    train_docs = sorted(d for d, h in zip(docs, held) if not h)
    seqs = PackedSequences(shards, 1, val_fraction=0.3, seed=7)
    orders = [_docs_of_epoch(seqs, e) for e in range(3)]
    for order in orders:
        assert sorted(order) == train_docs  # every training document once per epoch, no held-out one
    assert orders[0] != orders[1] != orders[2]  # reshuffled every epoch …
    again = PackedSequences(shards, 1, val_fraction=0.3, seed=7)
    assert _docs_of_epoch(again, 1) == orders[1]  # … as a function of (seed, epoch): resumable
    assert _docs_of_epoch(PackedSequences(shards, 1, val_fraction=0.3), 1) == _docs_of_epoch(
        PackedSequences(shards, 1, val_fraction=0.3), 0)  # no seed: manifest order every epoch
    # Validation: only held-out documents, per language, packed with the same position/label rules.
    val = validation_set(shards, 4, 0.3, max_tokens=1000)
    assert val.langs == ["en"] and val.held_docs == {"en": int(held.sum())}
    stream = np.concatenate([s["input_ids"] for s in val.sequences["en"]])
    expected = np.concatenate([d for d, h in zip(docs, held) if h])
    assert np.array_equal(stream, expected[:len(stream)]) and len(stream) >= len(expected) - 1  # a 1-token tail predicts nothing
    capped = validation_set(shards, 4, 0.3, max_tokens=6)
    assert sum(len(s["input_ids"]) for s in capped.sequences["en"]) == 6


def test_validation_needs_ids(tmp_path):
    t = pa.table({"input_ids": pa.array([[1, 2, EOS]] * 4, pa.list_(pa.int32())), "n_tokens": pa.array([3] * 4, pa.int32())})
    (tmp_path / "shards").mkdir()
    pq.write_table(t, tmp_path / "shards" / "s.parquet")
    (tmp_path / "manifest.json").write_text(json.dumps(
        {"tokenizer": {"eos_id": EOS, "vocab_size": 100}, "shards": [{"file": "shards/s.parquet", "rows": 4, "tokens": 12}]}))
    assert PackedSequences(load_shards(tmp_path), 4).per_epoch == 3
    with pytest.raises(ShardsError, match="no column id"):
        PackedSequences(load_shards(tmp_path), 4, val_fraction=0.5)
