"""Object storage: a Parquet work unit read by mmedc's reader and written by its crash-safe writer,
from / to a bucket of an S3-compatible server on loopback (moto, `pip install moto[server]`), next to
the same on local disk (the baseline, same run). The gap is the store's per-request cost: mmedc
reads a unit with a few ranged requests per row group and writes it with one upload, so documents/s
stay close to local disk. Skips when moto is not installed.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

DOCS = 50_000
ROW_GROUP = 5_000


@contextmanager
def moto_s3(access_key: str, secret_key: str, timeout: float = 30.0):
    """A moto S3 server on 127.0.0.1 with the AWS_* environment pointing at it (as boto3 reads it)
    while the block runs; yields its URL, or None when moto is not installed or did not start. The
    tests' S3 fixture uses it too."""
    try:
        import moto.server  # noqa: F401
    except ImportError:
        yield None
        return
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + timeout
    while True:
        try:
            urllib.request.urlopen(url + "/", timeout=2).close()
            break
        except urllib.error.HTTPError:
            break  # it answers
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                yield None
                return
            time.sleep(0.2)
    env = {"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": access_key, "AWS_SECRET_ACCESS_KEY": secret_key,
           "AWS_DEFAULT_REGION": "us-east-1"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield url
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        proc.terminate()
        proc.wait(10)


def _table() -> pa.Table:
    """Documents of ~2 KB of random words (compressing like real text does, ~3x with zstd)."""
    import numpy as np

    rng = np.random.default_rng(0)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    vocab = ["".join(rng.choice(letters, rng.integers(3, 11))) for _ in range(20_000)]
    picks = rng.integers(0, len(vocab), size=(DOCS, 280))
    texts = [" ".join(vocab[j] for j in row) for row in picks]
    return pa.table({"id": [f"d{i}" for i in range(DOCS)], "text": texts, "url": pa.nulls(DOCS, pa.string())})


def _read(path) -> tuple[float, int]:
    from mmedc.config import SourceConfig
    from mmedc.sources.corpus import read_parquet

    src = SourceConfig(name="b", kind="parquet", paths=[])
    t0 = time.perf_counter()
    n = sum(1 for _ in read_parquet(src, path))
    return time.perf_counter() - t0, n


def _write(path, table: pa.Table) -> float:
    from mmedc.core.files import ParquetStream

    t0 = time.perf_counter()
    s = ParquetStream(path, table.schema)
    for b in table.to_batches(1000):
        s.write_table(pa.Table.from_batches([b]))
    s.commit()
    return time.perf_counter() - t0


def run():
    with moto_s3("bench", "bench") as url:
        if url is None:
            print("skipped: moto[server] is not installed or did not start (pip install 'mmedc[test]')")
            return
        _measure()


def _measure():
    tmp = Path(tempfile.mkdtemp(prefix="mmedc-bench-storage-"))
    try:
        import fsspec

        fs = fsspec.filesystem("s3", use_listings_cache=False)
        fs.mkdir("bench")
        table = _table()
        local = tmp / "unit.parquet"
        pq.write_table(table, local, row_group_size=ROW_GROUP, compression="zstd")
        fs.put(str(local), "bench/unit.parquet")
        mb = local.stat().st_size / 1e6
        print(f"one work unit: {DOCS:,} documents of ~2 KB, {mb:.1f} MB Parquet (zstd), {DOCS // ROW_GROUP} row groups")
        print(f"{'':28} {'local disk (baseline)':>22} {'s3:// (moto, loopback)':>24}")
        _read(local)  # warm-up: imports, page cache
        rl, n1 = _read(local)
        rs, n2 = _read("s3://bench/unit.parquet")
        assert n1 == n2 == DOCS
        print(f"{'read (mmedc reader)':28} {DOCS / rl:>15,.0f} docs/s {DOCS / rs:>17,.0f} docs/s")
        _write(tmp / "warm.parquet", table)
        wl = _write(tmp / "out.parquet", table)
        ws = _write("s3://bench/out.parquet", table)
        print(f"{'write (ParquetStream)':28} {DOCS / wl:>15,.0f} docs/s {DOCS / ws:>17,.0f} docs/s")
        same = fs.cat("bench/out.parquet") == (tmp / "out.parquet").read_bytes()
        print(f"the object's bytes equal the local file's: {same}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    run()
