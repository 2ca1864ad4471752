"""Model construction without a full copy per rank, and weights read straight into each rank's shard.

The model is built with its parameters on the meta device (no memory; buffers such as RoPE
frequencies stay real), sharded (FSDP2) or not, then materialised on the device with only the local
part of each parameter. Weights then come either from a Hugging Face checkpoint folder
(`model.safetensors` or `model.safetensors.index.json` + parts, as `save_pretrained` writes them) —
each rank reads the byte range of its own rows with plain file reads, a bounded chunk at a time, so
no rank ever holds the full model — or from a seeded fresh initialisation that gives the same weights
for any number of ranks.
"""
from __future__ import annotations

import contextlib
import json
import struct
from dataclasses import dataclass
from pathlib import Path

CHUNK_BYTES = 64 << 20  # the most a rank reads into a temporary buffer at once

_DTYPES = {"F32": "float32", "F16": "float16", "BF16": "bfloat16", "F64": "float64",
           "I64": "int64", "I32": "int32", "I16": "int16", "I8": "int8", "U8": "uint8", "BOOL": "bool"}


class WeightsError(ValueError):
    pass


@contextlib.contextmanager
def params_on_meta():
    """Parameters created inside land on the meta device; buffers stay where they are made.

    Tied parameters (an assignment of an existing meta parameter) stay the same object."""
    import torch

    orig = torch.nn.Module.register_parameter

    def register(module, name, param):
        orig(module, name, param)
        if param is not None and param.device.type != "meta":
            module._parameters[name] = torch.nn.Parameter(param.to("meta"), requires_grad=param.requires_grad)

    torch.nn.Module.register_parameter = register
    try:
        yield
    finally:
        torch.nn.Module.register_parameter = orig


def meta_model(config, attn: str = "sdpa"):
    """A causal LM for `config` with parameters on meta, and a copy of its (real) buffers."""
    import torch
    from transformers import AutoModelForCausalLM

    with params_on_meta():
        model = AutoModelForCausalLM.from_config(config, attn_implementation=attn, dtype=torch.float32)
    return model, {n: b.clone() for n, b in model.named_buffers()}


def materialize(model, device, buffers: dict):
    """Allocate the (local shards of the) parameters on `device`, uninitialised; put the buffers back."""
    first: dict[int, str] = {}
    aliases = []  # (alias name, name of the first occurrence): tied parameters
    for name, p in model.named_parameters(remove_duplicate=False):
        if id(p) in first:
            aliases.append((name, first[id(p)]))
        first.setdefault(id(p), name)
    model.to_empty(device=device)  # a plain module's to_empty unties: tie again
    for alias, name in aliases:
        owner, _, attr = alias.rpartition(".")
        target = model.get_parameter(name)
        if model.get_parameter(alias) is not target:
            setattr(model.get_submodule(owner), attr, target)
    for name, buf in model.named_buffers():
        buf.copy_(buffers[name])
    return model


def _local_rows(param) -> tuple[object, int]:
    """The local tensor of a parameter and the global index of its first row (dim-0 sharding only)."""
    from torch.distributed.tensor import DTensor

    if not isinstance(param, DTensor):
        return param.data, 0
    from torch.distributed.tensor._utils import compute_local_shape_and_global_offset

    local = param.to_local()
    _, offset = compute_local_shape_and_global_offset(param.shape, param.device_mesh, param.placements)
    if any(o for o in offset[1:]):
        raise WeightsError(f"a parameter sharded on a dimension other than 0 ({param.placements}): not supported")
    return local, int(offset[0]) if offset else 0


def _fill(model, fill_rows):
    """Call fill_rows(name, global_shape, local_tensor, first_row) for every parameter (tied ones once)."""
    import torch

    with torch.no_grad():
        for name, param in model.named_parameters():
            local, first = _local_rows(param)
            fill_rows(name, tuple(param.shape), local, first)


def init_fresh(model, seed: int, std: float = 0.02):
    """Seeded fresh weights, identical for any sharding: matrices N(0, std), 1-D weights 1, biases 0.

    Parameter i (in named_parameters order) comes from generator (seed, i) drawn at full size on the
    parameter's device, so every rank draws the same tensor and keeps its rows."""
    import torch

    index = {n: i for i, (n, _) in enumerate(model.named_parameters())}

    def fill_rows(name, shape, local, first):
        if len(shape) >= 2:
            g = torch.Generator(device=local.device).manual_seed(seed * 1_000_003 + index[name])
            full = torch.empty(shape, dtype=torch.float32, device=local.device).normal_(0.0, std, generator=g)
            local.copy_(full[first:first + local.shape[0]])
        else:
            local.fill_(0.0 if name.endswith("bias") else 1.0)

    _fill(model, fill_rows)


@dataclass
class _Entry:
    file: Path
    dtype: str
    shape: tuple[int, ...]
    begin: int  # absolute byte offset in the file


class SafetensorsCheckpoint:
    """The tensors of a Hugging Face checkpoint folder, by name, read by byte ranges (no mmap, no torch load)."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        index = self.folder / "model.safetensors.index.json"
        if index.exists():
            files = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        elif (self.folder / "model.safetensors").exists():
            files = ["model.safetensors"]
        else:
            raise WeightsError(f"{folder}: no model.safetensors or model.safetensors.index.json "
                               "(save the model with save_pretrained(..., safe_serialization=True))")
        self.entries: dict[str, _Entry] = {}
        for name in files:
            path = self.folder / name
            with open(path, "rb") as f:
                (n,) = struct.unpack("<Q", f.read(8))
                header = json.loads(f.read(n))
            for key, meta in header.items():
                if key == "__metadata__":
                    continue
                if meta["dtype"] not in _DTYPES:
                    raise WeightsError(f"{path}: tensor {key} has dtype {meta['dtype']}, not supported")
                self.entries[key] = _Entry(path, meta["dtype"], tuple(meta["shape"]), 8 + n + meta["data_offsets"][0])

    def read_rows(self, name: str, first: int, out):
        """Rows [first, first + len(out)) of tensor `name` into `out` (any device and float dtype)."""
        import numpy as np
        import torch

        e = self.entries[name]
        dtype = getattr(torch, _DTYPES[e.dtype])
        row_elems = int(np.prod(e.shape[1:])) if len(e.shape) > 1 else 1
        row_bytes = row_elems * torch.empty((), dtype=dtype).element_size()
        rows = out.shape[0] if out.dim() else 1
        flat_out = out.reshape(rows, -1) if out.dim() else out.reshape(1, 1)
        direct = out.device.type == "cpu" and out.dtype == dtype  # read straight into the parameter
        step = rows if direct else max(1, CHUNK_BYTES // max(row_bytes, 1))
        buf = None
        with open(e.file, "rb", buffering=0) as f:
            f.seek(e.begin + first * row_bytes)
            for r in range(0, rows, step):
                k = min(step, rows - r)
                if direct:
                    target = flat_out[r:r + k]
                else:
                    if buf is None:
                        buf = torch.empty(step * row_elems, dtype=dtype)
                    target = buf[:k * row_elems]
                view = memoryview(target.detach().view(torch.uint8).numpy()).cast("B")
                got = 0
                while got < len(view):
                    n = f.readinto(view[got:])
                    if not n:
                        raise WeightsError(f"{e.file}: truncated in tensor {name}")
                    got += n
                if not direct:
                    flat_out[r:r + k].copy_(target.view(k, row_elems))


def load_weights(model, folder: str | Path):
    """Fill every parameter (its local shard under FSDP) from the checkpoint folder's safetensors."""
    ckpt = SafetensorsCheckpoint(folder)
    missing = [n for n, _ in model.named_parameters() if n not in ckpt.entries]
    if missing:
        raise WeightsError(f"{folder}: the checkpoint lacks {len(missing)} of the model's tensors, e.g. "
                           f"{', '.join(missing[:3])} (is it a {type(model).__name__} checkpoint?)")

    def fill_rows(name, shape, local, first):
        if ckpt.entries[name].shape != shape:
            raise WeightsError(f"{folder}: {name} has shape {list(ckpt.entries[name].shape)} in the checkpoint, "
                               f"{list(shape)} in the model")
        ckpt.read_rows(name, first, local)

    _fill(model, fill_rows)


def checkpoint_bytes(folder: str | Path) -> int:
    """Bytes of tensor data in a checkpoint folder."""
    ckpt = SafetensorsCheckpoint(folder)
    import numpy as np

    size = {"F64": 8, "F32": 4, "I64": 8, "I32": 4, "F16": 2, "BF16": 2, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}
    return sum(int(np.prod(e.shape)) * size[e.dtype] for e in ckpt.entries.values())
