"""The `text` kind's compressed reading and book-list matching (`python -m mmedc.bench text_source`).

1. ~95 MB of generated text (60,000 documents of random words: compresses ~2x, like real text, so
   the zstd slices fed 512 bytes at a time are many) read through the text reader as .txt, .txt.gz
   and .txt.zst, next to bare decompression of the same files (gzip.decompress, zstandard's
   stream_reader: no documents, no truncation check).
2. A book list of 20,000 titles matched against 40,000 file names (half of them listed books) with
   mmedc.sources.books (one Aho-Corasick pass per name), next to the naive rule on the same data
   (every title searched in every name: quadratic), timed on 1,000 names and scaled.
Inputs are generated in a temporary folder.
"""
from __future__ import annotations

import gzip
import random
import tempfile
import time
from pathlib import Path

from mmedc.bench.timing import best_of


def bench_text(d: Path):
    import zstandard

    from mmedc.config import SourceConfig
    from mmedc.sources.registry import read_file

    rnd = random.Random(0)
    vocab = ["".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rnd.randint(2, 10))) for _ in range(50000)]
    body = ("\n\n".join(" ".join(rnd.choices(vocab, k=rnd.randint(50, 400))) for _ in range(60000)) + "\n").encode()
    (d / "c.txt").write_bytes(body)
    (d / "c.txt.gz").write_bytes(gzip.compress(body, 6))
    (d / "c.txt.zst").write_bytes(zstandard.ZstdCompressor(level=3).compress(body))
    src = SourceConfig(name="t", kind="text", paths=[], split="blank_lines")
    mb = len(body) / 1e6
    print(f"{mb:.1f} MB of text, 60,000 documents (split = \"blank_lines\")")
    print(f"{'file':<10} {'on disk':>9} {'text reader':>12} {'MB/s':>6}   baseline: bare decompression")

    def zstd_bare():
        with open(d / "c.txt.zst", "rb") as f:
            r = zstandard.ZstdDecompressor().stream_reader(f)
            while r.read(1 << 20):
                pass

    bare = {"c.txt": None, "c.txt.gz": lambda: gzip.decompress((d / "c.txt.gz").read_bytes()), "c.txt.zst": zstd_bare}
    for name, base in bare.items():
        n = [0]

        def read():
            n[0] = sum(r.decision == "kept" for r in read_file(src, d / name))

        t, _ = best_of(read)
        assert n[0] == 60000, n[0]
        b = f"{best_of(base)[0]:.2f} s" if base else "-"
        print(f"{name:<10} {(d / name).stat().st_size / 1e6:7.1f}MB {t:10.2f} s {mb / t:6.0f}   {b}")


def bench_books():
    from mmedc.sources.books import _title_in, normalise, parse_book_list

    rnd = random.Random(1)
    words = [f"w{i}" for i in range(3000)]
    titles = sorted({" ".join(rnd.choice(words) for _ in range(rnd.randint(2, 6))).title() for _ in range(20000)})
    text = "title\tlanguage\n" + "".join(f"{t}\ten\n" for t in titles)
    files = [f"/lib/{t.replace(' ', '_')}_{rnd.randint(1, 9)}e.pdf" for t in titles]
    files += [f"/lib/other_{i}.pdf" for i in range(len(titles))]
    t0 = time.perf_counter()
    bl = parse_book_list(text, "books.tsv")
    parse = time.perf_counter() - t0
    t0 = time.perf_counter()
    found = sum(bl.entry_for(f) is not None for f in files)
    ours = time.perf_counter() - t0
    keys = [e.key for e in bl.entries]

    def naive(f):  # every title tried on the name (the same boundary rule), the longest kept
        name = normalise(Path(f).stem)
        best = None
        for k in keys:
            i = name.find(k)
            if i >= 0 and _title_in(k, name, i) and (best is None or len(k) > len(best)):
                best = k
        return best

    sample = files[::len(files) // 1000][:1000]
    t0 = time.perf_counter()
    for f in sample:
        naive(f)
    per = (time.perf_counter() - t0) / len(sample)
    print(f"book list: {len(titles):,} titles parsed in {parse:.2f} s; {len(files):,} file names matched in "
          f"{ours:.2f} s ({found:,} listed books)")
    print(f"  baseline, every title tried on every name: {per * 1e3:.1f} ms a name, "
          f"{per * len(files):.0f} s for the {len(files):,} names")


def run():
    with tempfile.TemporaryDirectory() as tmp:
        bench_text(Path(tmp))
    bench_books()


if __name__ == "__main__":
    run()
