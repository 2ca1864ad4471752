"""A WARC read as several work units against one (`python -m mmedc.bench warc_split`).

A generated WARC of ~30 MB (12,000 records: images of random bytes, which the reader drops as
`not_html` without decoding them, and 404 pages, so the figures are the reading itself, not text
extraction), as a plain `.warc` and a per-record `.warc.gz`:
- baseline: warcio's bare iteration (every record's payload read);
- the reader on the whole file (one unit);
- the reader on the parts `split_warc` plans for 2 MiB units, one after another (their sum: what
  entering the file mid-way and finding where the next part starts add), and the planning.
Inputs are generated in a temporary folder.
"""
from __future__ import annotations

import io
import random
import tempfile
from pathlib import Path

from mmedc.bench.timing import best_of

RECORDS = 12_000
UNIT = 2 << 20


def write(path: Path):
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    rnd = random.Random(0)
    with open(path, "wb") as f:
        w = WARCWriter(f, gzip=path.name.endswith(".gz"))
        for i in range(RECORDS):
            image = i % 4 != 3
            body = rnd.randbytes(rnd.randint(1000, 4000)) if image else b"<html>not found</html>"
            http = StatusAndHeaders("200 OK" if image else "404 Not Found",
                                    [("Content-Type", "image/png" if image else "text/html")], protocol="HTTP/1.1")
            w.write_record(w.create_warc_record(f"https://example.org/{i}", "response", payload=io.BytesIO(body),
                                                http_headers=http))


def run():
    from warcio.archiveiterator import ArchiveIterator

    from mmedc.config import SourceConfig
    from mmedc.sources.registry import read_file
    from mmedc.sources.web import split_warc

    src = SourceConfig("b", "warc", ["x"])
    print(f"{RECORDS:,} records; parts of {UNIT >> 20} MiB; best of 3, seconds")
    print(f"{'file':<10} {'MB':>5} {'warcio bare':>12} {'one unit':>9} {'parts (sum)':>12} {'parts':>6} {'plan':>7}")
    with tempfile.TemporaryDirectory() as d:
        for name in ("b.warc", "b.warc.gz"):
            path = Path(d) / name
            write(path)

            def bare():
                with open(path, "rb") as f:
                    return sum(len(r.content_stream().read()) for r in ArchiveIterator(f))

            t_bare, _ = best_of(bare)
            t_one, one = best_of(lambda: [r.decision for r in read_file(src, path)])
            t_plan, parts = best_of(lambda: split_warc(src, path, 0, UNIT))
            t_parts, split = best_of(lambda: [r.decision for a, b, _ in parts for r in read_file(src, path, part=(a, b))])
            assert split == one, "the parts read other records than the whole file"
            print(f"{name:<10} {path.stat().st_size / 1e6:>5.1f} {t_bare:>12.2f} {t_one:>9.2f} {t_parts:>12.2f} "
                  f"{len(parts):>6} {t_plan:>7.4f}")


if __name__ == "__main__":
    run()
