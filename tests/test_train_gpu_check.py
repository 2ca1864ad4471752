"""The GPU check script (`python -m mmedc.train.gpu_check`) runs its whole path on CPU with --tiny:
synthetic shards, a run through `mmedc train` with FSDP2 and activation checkpointing, the summary."""
import json


def test_gpu_check_tiny_runs_on_cpu(tmp_path, ray_local, capsys):
    from mmedc.train.gpu_check import main, memory_estimate_gb

    assert main(["--tiny", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "tokens/s" in out and "tiny-llama" in out
    [r] = json.loads((tmp_path / "gpu_check.json").read_text())["results"]
    assert r["status"] == "ok" and r["steps"] == 6 and r["tokens_per_s"] > 0 and r["peak_mem_gb"] > 0
    assert set(r["val_loss"]) and not list((tmp_path / "runs" / "tiny-llama").glob("checkpoints/run-*/step-*"))
    # The planning figure that decides whether the 8B preset is tried: 16 bytes per parameter, sharded.
    assert 128 < memory_estimate_gb("llama3-8b", 1, 8192, 1) < 150 < 2 * memory_estimate_gb("llama3-8b", 2, 8192, 1)
