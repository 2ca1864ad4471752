"""A book list's audit rows: one `books` row per listed title (found / missing / failed), written by
the runner after the tasks from the list and the books' ingest rows (docs/books.md)."""
from __future__ import annotations

from pathlib import Path

from mmedc.sources.books import STEP, BookEntry, read_book_list


def _missing_reason(e: BookEntry) -> str:
    if e.file:
        return f"missing_book: no PDF at {e.file!r} (relative to the list)"
    return f"missing_book: no PDF under the source's paths has {e.key!r} in its name"


def write_book_audit(recipe, units, out) -> None:
    """One `books` audit row per listed title of every source with a book list, in
    OUT/audit/books/<source>-books.parquet: `kept` = found (a file of it was read into a document;
    `documents` and `files` in `detail`), `dropped` with `missing_book` = no file matched, `failed`
    = every file of it failed at ingest (that reason, e.g. `corrupt_pdf`). Called by the runner after
    the tasks (mmedc.engine.runner.run): it reads only the list and the books' ingest rows, so it is
    written anew by every run and never stale. Files of sources that no longer have a list go."""
    from mmedc.audit.writer import AuditLog
    from mmedc.core import storage
    from mmedc.core.decisions import DROPPED, FAILED, KEPT

    audit_dir = storage.path(out) / "audit"
    written = set()
    for si, src in enumerate(recipe.sources):
        if not src.books:
            continue
        blist = read_book_list(src.books)
        by_line: dict[int, list] = {}
        for u in units:
            e = blist.entry_for(u.path) if u.source_index == si else None
            if e is not None:
                by_line.setdefault(e.line, []).append(u)
        shard = f"{src.name}-{STEP}"
        ingest = _ingest_rows(audit_dir, {u.shard for us in by_line.values() for u in us})
        log = AuditLog(shard, audit_dir)
        list_name = Path(blist.path).name
        for e in blist.entries:
            rid = f"{src.name}:{list_name}#{e.line}"
            info = {"title": e.title, "pages": e.page_text, "book_lang": e.lang}
            got = [(u, r) for u in by_line.get(e.line, []) for r in ingest.get(u.shard, [_NOT_READ])]
            if not got:
                log.add(STEP, rid, src.name, DROPPED, _missing_reason(e), lang=e.language, **info)
                continue
            kept = [r["id"] for _, r in got if r["decision"] == KEPT]
            files = sorted({Path(u.path).name for u, _ in got})
            bad = [{"file": Path(u.path).name, "reason": r["reason"]} for u, r in got if r["decision"] != KEPT]
            if kept:
                log.add(STEP, rid, src.name, KEPT, lang=e.language, documents=kept, files=files,
                        unreadable=bad or None, **info)
            else:
                log.add(STEP, rid, src.name, FAILED, bad[0]["reason"] or "failed", lang=e.language,
                        files=files, unreadable=bad if len(bad) > 1 else None, **info)
        log.write(None, [STEP])
        written.add(shard)
    for f in (audit_dir / STEP).glob("*.parquet") if (audit_dir / STEP).exists() else []:
        if f.stem not in written:
            storage.remove(f)


_NOT_READ = {"id": None, "decision": "failed",
             "reason": "not_read: the task reading this book did not finish (re-run the same command)"}


def _ingest_rows(audit_dir, shards: set[str]) -> dict[str, list[dict]]:
    """The ingest rows of the books' units (a book: one row), by unit, read in one scan; a unit
    without an audit file (its task did not finish: the run failed) is absent."""
    import polars as pl

    folder = audit_dir / "ingest"
    files = [f for f in (folder.glob("*.parquet") if folder.exists() else []) if f.stem in shards]
    if not files:
        return {}
    rows: dict[str, list[dict]] = {}
    df = pl.scan_parquet([str(f) for f in sorted(files, key=str)]).select("shard", "id", "decision", "reason").collect()
    for r in df.iter_rows(named=True):
        rows.setdefault(r.pop("shard"), []).append(r)
    return rows
