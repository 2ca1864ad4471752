"""How much input a recipe's sources hold, without reading all of it.

- parquet: row counts and the text column's uncompressed size from the file footers (exact);
- jsonl: file sizes × lines per byte sampled from the start of a few files (gzip decompressed);
- warc: file sizes × page records per byte sampled from the start of a few archives;
- html: one document per file (exact);
- pdf: one document per book, pages from the PDF's page tree (PyMuPDF, exact), and the share of
  scanned pages (MMedC's rule) from a few pages sampled per book.

A source whose paths match nothing is reported as missing (with an assumed size if one was given),
never an error: a plan is written before the data is downloaded.
"""
from __future__ import annotations

import contextlib
import glob
import io
import zlib
from dataclasses import dataclass, field
from pathlib import Path

SUFFIXES = {
    "jsonl": (".jsonl", ".jsonl.gz", ".json", ".json.gz"),
    "parquet": (".parquet",),
    "html": (".html", ".htm", ".html.gz", ".htm.gz"),
    "warc": (".warc", ".warc.gz", ".arc", ".arc.gz"),
    "pdf": (".pdf",),
    "text": tuple(b + c for b in (".txt", ".text", ".tsv", ".csv") for c in ("", ".gz", ".zst")),
}
SAMPLE_FILES = 8  # files sampled per source for size-based estimates
SAMPLE_BYTES = 4 << 20  # compressed bytes read from the start of a sampled file
PDF_SAMPLE_BOOKS = 200  # books whose pages are sampled for the scanned share
PDF_SAMPLE_PAGES = 5


@dataclass
class SourceCount:
    name: str
    kind: str
    lang: str | None = None
    files: int = 0
    bytes: int = 0  # on disk
    docs: float = 0.0
    pages: float = 0.0  # pdf
    scanned_share: float | None = None  # pdf: share of pages needing OCR, from sampled pages
    text_bytes_per_doc: float | None = None  # uncompressed text per document, when known
    how: str = ""  # "exact", "estimated", "assumed", "not found"
    missing: list[str] = field(default_factory=list)  # path patterns that matched nothing
    errors: list[str] = field(default_factory=list)  # unreadable files (counted as 0)

    @property
    def found(self) -> bool:
        return self.files > 0


def source_files(paths: list[str], kind: str, base_dir: Path) -> tuple[list[Path], list[str]]:
    """Files a source names (globs, folders walked for the kind's suffixes) and the patterns that matched nothing."""
    suffixes = SUFFIXES[kind]
    out: set[Path] = set()
    missing = []
    for pattern in paths:
        p = Path(pattern).expanduser()
        p = p if p.is_absolute() else base_dir / p
        matches = [Path(m) for m in glob.glob(str(p), recursive=True)] if glob.has_magic(str(p)) else [p]
        found = False
        for m in matches:
            if m.is_dir():
                files = [f for f in m.rglob("*") if f.is_file() and f.name.lower().endswith(suffixes)]
                out.update(files)
                found |= bool(files)
            elif m.is_file():
                out.add(m)
                found = True
        if not found:
            missing.append(pattern)
    return sorted(out), missing


def listed_books(files: list[Path], src: dict, paths: list[str], base_dir: Path) -> list[Path]:
    """The PDFs a source's book list names (mmedc.sources.books: its `file` entries and the titles
    found under `paths`), when the list is there; else all of them (the list is a placeholder)."""
    from mmedc.config import SourceConfig
    from mmedc.sources.books import BookListError, book_files, read_book_list

    lst = Path(src["books"]).expanduser()
    lst = lst if lst.is_absolute() else base_dir / lst
    if not lst.exists():
        return files
    try:
        return [Path(f) for f in book_files(SourceConfig(name=src.get("name", "?"), kind="pdf", paths=paths,
                                                         books=str(lst)), base_dir)]
    except FileNotFoundError:  # a `paths` entry is not there (reported as missing): the titles under the rest
        blist = read_book_list(str(lst))
        return [f for f in files if blist.entry_for(str(f)) is not None]
    except BookListError:
        return files  # a malformed list: `mmedc run` refuses it with the line; the plan counts the folder


def _sample_paths(files: list[Path]) -> list[Path]:
    """Up to SAMPLE_FILES files spread over the list (sorted names: first, last and between)."""
    if len(files) <= SAMPLE_FILES:
        return files
    step = (len(files) - 1) / (SAMPLE_FILES - 1)
    return [files[round(i * step)] for i in range(SAMPLE_FILES)]


def _read_start(path: Path) -> tuple[bytes, int]:
    """The first SAMPLE_BYTES of a file, decompressed when gzip; and how many file bytes that took."""
    with open(path, "rb") as f:
        raw = f.read(SAMPLE_BYTES)
    if path.name.endswith(".zst"):  # the text kind's zstd files: fed in slices, output capped (a bomb)
        import zstandard

        d, out, used, size = zstandard.ZstdDecompressor().decompressobj(), [], 0, 0
        try:
            while used < len(raw) and size < 4 * SAMPLE_BYTES and not d.eof:
                out.append(d.decompress(raw[used:used + 512]))
                used, size = used + 512, size + len(out[-1])
        except zstandard.ZstdError:
            pass
        return b"".join(out), min(used, len(raw))
    if not path.name.endswith(".gz"):
        return raw, len(raw)
    d = zlib.decompressobj(wbits=47)  # gzip or zlib header, auto
    out = []
    try:
        out.append(d.decompress(raw))
        while d.eof and d.unused_data:  # concatenated members (WARC: one per record)
            rest = d.unused_data
            d = zlib.decompressobj(wbits=47)
            out.append(d.decompress(rest))
    except zlib.error:
        pass
    return b"".join(out), len(raw)


def count_parquet(sc: SourceCount, files: list[Path], text_field: str):
    import pyarrow.parquet as pq

    text = 0
    for f in files:
        try:
            md = pq.ParquetFile(f).metadata
        except Exception as e:  # noqa: BLE001 - an unreadable footer is reported, the plan goes on
            sc.errors.append(f"{f.name}: {e}")
            continue
        sc.docs += md.num_rows
        for g in range(md.num_row_groups):
            rg = md.row_group(g)
            text += sum(rg.column(c).total_uncompressed_size for c in range(rg.num_columns)
                        if rg.column(c).path_in_schema == text_field)
    sc.text_bytes_per_doc = text / sc.docs if sc.docs else None
    sc.how = "exact"


def count_jsonl(sc: SourceCount, files: list[Path]):
    """Lines per file byte sampled separately for gzipped and plain files (their ratios differ ~10×)."""
    docs = plain_total = lines_total = 0.0
    exact = True
    groups = {gz: [f for f in files if f.name.endswith(".gz") == gz] for gz in (False, True)}
    ratios = {}
    for gz, group in groups.items():
        lines = read = 0
        for f in _sample_paths(group):
            data, used = _read_start(f)
            if used == f.stat().st_size:  # whole file read: its exact count
                n = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
            else:
                n = data.count(b"\n")
                data = data[: data.rfind(b"\n") + 1]
                exact = False
            lines, read, plain_total, lines_total = lines + n, read + used, plain_total + len(data), lines_total + n
        if read:
            ratios[gz] = lines / read
        exact &= len(group) <= SAMPLE_FILES
    for gz, group in groups.items():
        ratio = ratios.get(gz, ratios.get(not gz, 0.0) * (10 if gz else 0.1))  # gzip packs text ~10×
        docs += ratio * sum(f.stat().st_size for f in group)
    sc.docs = docs
    sc.text_bytes_per_doc = plain_total / lines_total if lines_total else None
    sc.how = "exact" if exact and lines_total else "estimated"


def count_text(sc: SourceCount, files: list[Path], split: str, separator: str):
    """The text kind: one document a file (exact), else documents per decompressed byte in the
    sampled starts (table rows, blank-line-separated blocks or separator lines) times the files' size,
    with the compression ratio of the samples."""
    import re

    def table(f: Path) -> bool:
        return bool(re.search(r"\.(tsv|csv)(\.gz|\.zst)?$", f.name))

    if split == "file" and not any(table(f) for f in files):
        sc.docs, sc.how = len(files), "exact"
        return
    docs = plain = used = 0
    for f in _sample_paths(files):
        data, n = _read_start(f)
        if table(f) or split == "file":
            k = data.count(b"\n")
        elif split == "separator":
            k = len(re.findall(rb"(?m)^[ \t]*" + re.escape(separator.strip().encode()) + rb"[ \t]*\r?$", data))
        else:
            k = len(re.findall(rb"\S[^\n]*\n(?:[ \t\r]*\n)+", data)) + 1
        docs, plain, used = docs + k, plain + len(data), used + n
    sc.docs = docs / used * sum(f.stat().st_size for f in files) if used else 0.0
    sc.text_bytes_per_doc = plain / docs if docs else None
    sc.how = "estimated"


def count_warc(sc: SourceCount, files: list[Path]):
    from warcio.archiveiterator import ArchiveIterator

    pages = used_total = 0
    for f in _sample_paths(files):
        with open(f, "rb") as fh:
            raw = fh.read(SAMPLE_BYTES)
        whole = len(raw) == f.stat().st_size
        n = seen = at = 0  # pages in whole records; pages before the last record started, and where
        try:  # warcio prints its complaints about odd records on stderr: they are not the plan's
            with contextlib.redirect_stderr(io.StringIO()):
                it = ArchiveIterator(io.BytesIO(raw), arc2warc=True)
                for rec in it:
                    seen, at = n, it.get_record_offset()
                    rec.content_stream().read()
                    n += rec.rec_type in ("response", "resource")
        except Exception:  # noqa: BLE001 - the sample ends inside a record: count the whole ones
            pass
        if not whole:  # the last record may be cut by the sample: stop at its start
            n = seen
        end = len(raw) if whole else at
        if n:
            pages, used_total = pages + n, used_total + max(end, 1)
    if pages:
        sc.docs = sc.bytes * pages / used_total
    sc.how = "exact" if used_total == sc.bytes else "estimated"


def count_pdf(sc: SourceCount, files: list[Path]):
    from mmedc.extract.pdf import is_scanned
    from mmedc.extract.pymupdf_import import load_pymupdf

    pymupdf = load_pymupdf()

    sampled = scanned = 0
    for i, f in enumerate(files):
        try:
            with pymupdf.open(f) as doc:
                n = doc.page_count
                sc.pages += n
                if i < PDF_SAMPLE_BOOKS and n and not doc.needs_pass:
                    k = min(n, PDF_SAMPLE_PAGES)
                    for p in sorted({round(j * (n - 1) / max(k - 1, 1)) for j in range(k)}):
                        sampled += 1
                        scanned += is_scanned(doc[p].get_text())
        except Exception as e:  # noqa: BLE001 - corrupt / encrypted: reported, counted as 0 pages
            sc.errors.append(f"{f.name}: {str(e)[:80]}")
    sc.docs = len(files)
    sc.scanned_share = scanned / sampled if sampled else None
    sc.how = "exact"


def count_source(src: dict, base_dir: Path) -> SourceCount:
    """Count one `[[sources]]` table of a recipe (name, kind, paths, lang, text_field)."""
    kind = src.get("kind", "")
    sc = SourceCount(name=src.get("name", "?"), kind=kind, lang=src.get("lang"))
    if kind not in SUFFIXES:
        sc.how, sc.errors = "unknown kind", [f"kind {kind!r} is not one of {sorted(SUFFIXES)}"]
        return sc
    paths = [src["paths"]] if isinstance(src.get("paths"), str) else list(src.get("paths", []))
    files, sc.missing = source_files(paths, kind, base_dir)
    if kind == "pdf" and src.get("books"):
        files = listed_books(files, src, paths, base_dir)
    sc.files = len(files)
    sc.bytes = sum(f.stat().st_size for f in files)
    if not files:
        sc.how = "not found"
    elif kind == "parquet":
        count_parquet(sc, files, src.get("text_field", "text"))
    elif kind == "jsonl":
        count_jsonl(sc, files)
    elif kind == "warc":
        count_warc(sc, files)
    elif kind == "html":
        sc.docs, sc.how = len(files), "exact"
    elif kind == "pdf":
        count_pdf(sc, files)
    elif kind == "text":
        count_text(sc, files, src.get("split", "file"), src.get("separator", ""))
    return sc
