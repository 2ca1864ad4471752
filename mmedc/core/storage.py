"""Local paths and object-store URIs (`s3://bucket/key`, `gs://...`) behind one small interface.

`path(x)` gives a `pathlib.Path` for a local path and a `UPath` (universal-pathlib over fsspec) for
a URI; both have `/`, `.name`, `.parent`, `.exists()`, `.glob()`, `.open()`, `.read_text()`, so the
rest of mmedc handles either. What differs is here:

- writes: a local file goes to a temporary name and is renamed into place; an object store has no
  rename, but an object only appears when its upload completes, so it is written under its final
  name directly (`Output`), and `Output.discard()` drops an unfinished upload;
- pyarrow and polars get a (path, filesystem) pair (`arrow`);
- a file a library can only open from local disk (a fastText model, a tokenizer.json, a PDF for
  PyMuPDF) is copied once per machine into a cache keyed by its ETag (`local_copy`).

Credentials and the endpoint come from the environment exactly as boto3 / the AWS CLI read them
(AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_PROFILE, instance roles, ...): nothing here takes, prints
or stores them, and a UPath pickled to a Ray worker carries only the options below.
"""
from __future__ import annotations

import glob as _glob
import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import IO, Iterable

_URI = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]+://")
# Listings are never cached: another worker may have written a marker since this process listed a
# folder, and a stale "absent" would redo or skip work wrongly.
_OPTIONS = {"s3": {"use_listings_cache": False}, "s3a": {"use_listings_cache": False},
            "gs": {"use_listings_cache": False}, "gcs": {"use_listings_cache": False}}
# Environment variables that say where the object store is (not who you are): forwarded to cluster
# workers (mmedc.executor.ray_executor). Secrets are never forwarded: nodes get credentials the
# standard way (instance role, IRSA, `ray start` environment) - docs/cluster.md.
ENDPOINT_ENV = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE",
                "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CA_BUNDLE")


def is_uri(p) -> bool:
    """True for `scheme://...` (but not `file://`): an object store or another fsspec filesystem."""
    if _is_upath(p):
        return p.protocol not in ("", "file", "local")
    s = str(p)
    return bool(_URI.match(s)) and not s.startswith("file://")


def _is_upath(p) -> bool:
    return type(p).__module__.startswith("upath") and not isinstance(p, Path)


def path(p, base: Path | str | None = None):
    """A local `Path` or a `UPath` for a URI. A relative local path is taken from `base` (a folder,
    itself local or a URI) when given."""
    if _is_upath(p):
        return p
    s = str(p)
    if is_uri(s):
        from upath import UPath

        proto = s.split("://", 1)[0].lower()
        return UPath(s, **_OPTIONS.get(proto, {}))
    if s.startswith("file://"):
        s = s[len("file://"):]
    q = Path(s).expanduser()
    if base is not None and not q.is_absolute():
        return path(base) / s
    return q


def resolve(p):
    """Absolute local path; a URI unchanged."""
    p = path(p)
    return p.resolve() if isinstance(p, Path) else p


def arrow(p) -> tuple[str, object | None]:
    """(path, filesystem) for pyarrow: `pq.read_table(*arrow(p))`, `pq.ParquetFile(s, filesystem=fs)`."""
    p = path(p)
    if isinstance(p, Path):
        return str(p), None
    return p.path, p.fs


def open_input(p, mode: str = "rb") -> IO:
    """A file object to read (seekable; on an object store reads are ranged requests)."""
    return path(p).open(mode)


def ensure_parent(p):
    """Create the folder a file goes into (object stores have no folders: nothing to do)."""
    p = path(p)
    if isinstance(p, Path):
        p.parent.mkdir(parents=True, exist_ok=True)


def ensure_dir(p):
    p = path(p)
    if isinstance(p, Path):
        p.mkdir(parents=True, exist_ok=True)


def umask_mode() -> int:
    """The mode a plain open() would give a new file: 0666 less the process umask (read without
    changing it where /proc says it, else by setting and restoring it)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except OSError:
        pass
    old = os.umask(0o022)
    os.umask(old)
    return 0o666 & ~old


class Output:
    """A file being written: on local disk a temporary file renamed into place by `commit()`; on an
    object store the final name, whose upload completes at `commit()` and is dropped by `discard()`
    (a killed process never completes it, so no partial object ever appears)."""

    def __init__(self, p):
        self.path = path(p)
        self.local = isinstance(self.path, Path)
        if self.local:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, self._tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
            os.fchmod(fd, umask_mode())  # mkstemp makes 0600: outputs follow the umask, like any other file
            self.file = os.fdopen(fd, "wb")
        else:
            self.file = self.path.open("wb")

    def commit(self):
        self.file.close()
        if self.local:
            os.replace(self._tmp, self.path)
        return self.path

    def discard(self):
        if self.local:
            try:
                self.file.close()
            finally:
                Path(self._tmp).unlink(missing_ok=True)
            return
        if hasattr(self.file, "discard"):  # fsspec buffered files: abort the multipart upload
            self.file.discard()
        try:  # closing would complete the upload: mark it closed instead
            self.file.closed = True
        except AttributeError:
            pass


def write_bytes(p, data: bytes):
    """Put `data` under `p` so that a reader sees the old file or the new one, never a part."""
    out = Output(p)
    try:
        out.file.write(data)
    except BaseException:
        out.discard()
        raise
    return out.commit()


def remove(p):
    """Delete a file if it is there."""
    path(p).unlink(missing_ok=True)


def rmtree(p):
    """Delete a folder (a prefix on an object store) and everything under it, if it is there."""
    p = path(p)
    if isinstance(p, Path):
        shutil.rmtree(p, ignore_errors=True)
        return
    try:
        p.fs.rm(p.path, recursive=True)
    except FileNotFoundError:
        pass


def file_key(p) -> dict:
    """What identifies a file's content for resume: size and modification time (ns) on local disk;
    size, modification time and ETag on an object store (None when it cannot be read)."""
    p = path(p)
    try:
        if isinstance(p, Path):
            st = os.stat(p)
            return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
        info = p.fs.info(p.path)
    except OSError:
        return {"size": None, "mtime_ns": None}
    mtime = info.get("LastModified") or info.get("mtime") or info.get("updated")
    mtime_ns = int(mtime.timestamp() * 1e9) if hasattr(mtime, "timestamp") else mtime
    return {"size": info.get("size"), "mtime_ns": mtime_ns,
            "etag": str(info.get("ETag") or info.get("etag") or info.get("md5Hash") or "").strip('"') or None}


def size(p) -> int:
    p = path(p)
    return p.stat().st_size if isinstance(p, Path) else int(p.fs.size(p.path))


def expand(patterns: Iterable[str], base: Path | str | None, suffixes: tuple[str, ...]) -> list:
    """Files named by `patterns` (files, folders walked for `suffixes`, globs with `*`, `?`, `[...]`,
    `**`), relative ones from `base`; sorted and without repeats. A name that matches nothing raises
    FileNotFoundError with that name."""
    found: dict[str, object] = {}
    for pattern in patterns:
        p = path(pattern, base)
        s = str(p)
        if _glob.has_magic(s):
            if isinstance(p, Path):
                matches = [Path(m) for m in _glob.glob(s, recursive=True)]
            else:
                matches = [path(_with_proto(p, m)) for m in p.fs.glob(p.path)]
        else:
            matches = [p]
        for m in matches:
            if m.is_dir():
                for f in _walk(m):
                    if f.name.lower().endswith(suffixes):
                        found[str(f)] = f
            elif m.exists():
                found[str(m)] = m
            else:
                raise FileNotFoundError(s if m is p else str(m), pattern)
    return [found[k] for k in sorted(found, key=lambda k: k.split("/"))]  # pathlib's order: by part


def _with_proto(p, key: str) -> str:
    return f"{p.protocol}://{key}" if not key.startswith(f"{p.protocol}://") else key


def _walk(d) -> list:
    if isinstance(d, Path):
        return [f for f in d.rglob("*") if f.is_file()]
    return [path(_with_proto(d, k)) for k in d.fs.find(d.path)]


def local_copy(p, cache: Path | None = None) -> Path:
    """A local file with `p`'s content: `p` itself when local; else a copy in a per-machine cache
    (MMEDC_CACHE, default ~/.cache/mmedc/remote), downloaded once per ETag and renamed into place, so
    concurrent workers on one node share it."""
    p = path(p)
    if isinstance(p, Path):
        return p
    key = file_key(p)
    tag = hashlib.sha256(f"{p}|{key.get('etag')}|{key.get('size')}".encode()).hexdigest()[:16]
    root = cache or Path(os.environ.get("MMEDC_CACHE") or Path.home() / ".cache" / "mmedc" / "remote")
    dest = root / tag / p.name
    if not dest.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{p.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f, p.open("rb") as src:
                shutil.copyfileobj(src, f, 1 << 22)
            os.replace(tmp, dest)
        finally:
            Path(tmp).unlink(missing_ok=True)
    return dest


def local_dir(p, files: Iterable[str], cache: Path | None = None) -> Path:
    """A local folder holding the named `files` of folder `p` (copied when `p` is a URI)."""
    p = path(p)
    if isinstance(p, Path):
        return p
    copies = [local_copy(p / f, cache) for f in files]
    # Each file lands in its own ETag folder: link them side by side under one folder per set.
    tag = hashlib.sha256("|".join(str(c) for c in copies).encode()).hexdigest()[:16]
    root = cache or Path(os.environ.get("MMEDC_CACHE") or Path.home() / ".cache" / "mmedc" / "remote")
    d = root / f"dir-{tag}"
    d.mkdir(parents=True, exist_ok=True)
    for f, c in zip(files, copies):
        if not (d / f).exists():
            try:
                os.link(c, d / f)
            except FileExistsError:
                pass
            except OSError:
                shutil.copyfile(c, d / f)
    return d


def read_parquet(p, **kw):
    """`pq.read_table` of one file, local or in an object store (columns=, filters=, ...). An object
    is read through one file handle with fsspec's read-ahead blocks: two requests for a small file
    (its size, then its bytes) where pyarrow's dataset path makes five or six."""
    import pyarrow.parquet as pq

    p = path(p)
    if isinstance(p, Path):
        return pq.read_table(str(p), **kw)
    with p.fs.open(p.path, "rb") as f:
        return pq.read_table(f, **kw)


def parquet_file(p):
    """`pq.ParquetFile` of a local file or an object (row groups read on demand)."""
    import pyarrow.parquet as pq

    where, fs = arrow(p)
    return pq.ParquetFile(where, filesystem=fs)


def read_parquet_metadata(p):
    import pyarrow.parquet as pq

    where, fs = arrow(p)
    return pq.read_metadata(where, filesystem=fs)
