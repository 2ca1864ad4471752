"""`mmedc plan`: input counted from metadata and samples, rates applied per source and step, missing
sources reported, the full-MMedC recipe planned from assumed sizes. Also the scale benchmark's corpus
generator, which other tests use for small CulturaX-shaped inputs."""
from __future__ import annotations

import gzip
import io
import json
import tomllib
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from mmedc.bench.scale import corpus_rows, load_pools, write_corpus
from mmedc.paths import ROOT, dev_data_dir
from mmedc.plan import count as count_mod
from mmedc.plan.estimate import PlanError, make_plan, parse_count
from mmedc.plan.rates import DEFAULT_PATH, RatesError, dumps, load_rates


@pytest.fixture(scope="module")
def pools():
    return load_pools()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, pools) -> Path:
    d = tmp_path_factory.mktemp("cx")
    write_corpus(d / "in", 900, 3, rows=corpus_rows(900, 3, 0.5), row_group_rows=100, pools=pools, seed=3)
    return d


def plan_cli(*args) -> tuple[int, str]:
    from typer.testing import CliRunner

    from mmedc.cli import app

    res = CliRunner().invoke(app, ["plan", *map(str, args)], catch_exceptions=False)
    return res.exit_code, res.output


def recipe(dir_: Path, body: str, name: str = "r.toml") -> Path:
    p = dir_ / name
    p.write_text('[pipeline]\nlanguages = ["en", "zh", "ja"]\n' + body, encoding="utf-8")
    return p


# ------------------------------------------------------------------------------------ the generator

def test_write_corpus_is_culturax_shaped_and_deterministic(tmp_path, pools, corpus):
    files = sorted((corpus / "in").glob("*.parquet"), key=lambda f: f.name.split("_")[-1])
    assert [f.name for f in files] == ["en_part_00000.parquet", "zh_part_00001.parquet", "ja_part_00002.parquet"]
    md = [pq.ParquetFile(f).metadata for f in files]
    assert [m.num_rows for m in md] == [450, 225, 225]
    assert md[0].num_row_groups == 5  # written row group by row group
    t = pq.read_table(files[0])
    assert t.column_names == ["text", "timestamp", "url", "source"]
    texts = t.column("text").to_pylist()
    assert all(texts) and 800 < sum(len(x.encode()) for x in texts) / len(texts) < 6000
    again = write_corpus(tmp_path, 900, 3, rows=corpus_rows(900, 3, 0.5), row_group_rows=100, pools=pools, seed=3)
    assert pq.read_table(again[0]).equals(t)
    other = write_corpus(tmp_path / "s4", 900, 3, rows=corpus_rows(900, 3, 0.5), pools=pools, seed=4)
    assert not pq.read_table(other[0]).equals(t)


def near_duplicates(texts: list[str]) -> int:
    """Documents most of whose word 3-grams are in one earlier document."""
    seen: dict[int, set[int]] = {}
    near = 0
    for i, t in enumerate(texts):
        w = t.split()
        grams = {hash(tuple(w[j:j + 3])) for j in range(len(w) - 2)}
        hits = Counter(d for g in grams for d in seen.get(g, ()))
        near += bool(hits) and hits.most_common(1)[0][1] > 0.7 * len(grams)
        for g in grams:
            seen.setdefault(g, set()).add(i)
    return near


@pytest.mark.skipif(dev_data_dir() is None, reason="needs ../shared/data: the sample's few sentences repeat too much")
def test_write_corpus_mixes_medical_and_near_duplicates(tmp_path, pools):
    from mmedc.classify.medical import get_classifier
    from mmedc.classify.packs import load_pack

    def texts(**kw):
        f = write_corpus(tmp_path / str(kw), 600, 1, foreign=0.0, pools=pools, **kw)[0]
        return pq.read_table(f).column("text").to_pylist()

    with_dups, without = texts(medical=0.1, near_dups=0.1), texts(medical=0.1, near_dups=0.0)
    medical = sum(s.medical for s in get_classifier("terms").score(with_dups, load_pack("en")))
    assert 25 <= medical <= 150  # ~10% written medical, plus the odd general one the classifier takes
    # ~10% near-duplicates on top of what the texts share by themselves (exam questions reuse a case)
    assert 25 <= near_duplicates(with_dups) - near_duplicates(without) <= 100


def test_corpus_rows_split():
    assert corpus_rows(10, 3) == [4, 3, 3]
    assert corpus_rows(1_600_000, 6, 0.625)[0] == 1_000_000  # the 16x bench's million-row file
    with pytest.raises(ValueError):
        write_corpus(Path("/nonexistent"), 10, 2, rows=[3, 3])


# ------------------------------------------------------------------------------------------ counting

def test_parquet_counted_from_footers(corpus):
    r = recipe(corpus, '[[sources]]\nname = "cx"\nkind = "parquet"\npaths = ["in"]\n')
    code, out = plan_cli(r, "--cores", "4", "--json")
    assert code == 0, out
    p = json.loads(out)
    src = p["sources"][0]
    assert src["how"] == "exact" and src["docs"] == 900 and src["files"] == 3
    steps = [s["step"] for s in src["stages"]]
    assert steps == ["ingest", "medical", "langid", "quality", "pii", "dedup", "tokenize"]  # no decontam index
    docs = [s["docs"] for s in src["stages"]]
    assert docs == sorted(docs, reverse=True) and docs[0] == 900
    med = steps.index("medical")
    assert docs[med + 1] == pytest.approx(docs[med] * load_rates()["medical_kept"]["parquet"])
    assert p["wall_hours"] == pytest.approx(p["core_hours"] / 4)
    assert p["disk_bytes"] > 0


def test_jsonl_sampled_and_exact(tmp_path, monkeypatch):
    lines = [json.dumps({"id": i, "text": "word " * (20 + i % 7)}) + "\n" for i in range(4000)]
    (tmp_path / "a.jsonl").write_text("".join(lines))
    with gzip.open(tmp_path / "b.jsonl.gz", "wt") as f:
        f.writelines(lines[:1000])
    src = {"name": "j", "kind": "jsonl", "paths": ["a.jsonl", "b.jsonl.gz"]}
    sc = count_mod.count_source(src, tmp_path)
    assert sc.how == "exact" and round(sc.docs) == 5000
    monkeypatch.setattr(count_mod, "SAMPLE_BYTES", 8000)  # now only the files' starts are read
    sc = count_mod.count_source(src, tmp_path)
    assert sc.how == "estimated" and 5000 * 0.6 < sc.docs < 5000 * 1.6
    sc = count_mod.count_source({**src, "paths": ["a.jsonl"]}, tmp_path)
    assert sc.docs == pytest.approx(4000, rel=0.1)


def write_warc(path: Path, pages: int):
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as f:
        w = WARCWriter(f, gzip=True)
        w.write_record(w.create_warcinfo_record(path.name, {"software": "test"}))
        for i in range(pages):
            url = f"https://h.example/{i}"
            req = w.create_warc_record(url, "request", payload=io.BytesIO(b""),
                                       http_headers=StatusAndHeaders("GET / HTTP/1.1", [], is_http_request=True))
            w.write_record(req)
            body = f"<html><body><p>{'page text ' * (50 + i % 13)}</p></body></html>".encode()
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
            w.write_record(w.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http))


def test_warc_pages_counted(tmp_path, monkeypatch):
    write_warc(tmp_path / "a.warc.gz", 300)
    src = {"name": "w", "kind": "warc", "paths": ["a.warc.gz"]}
    sc = count_mod.count_source(src, tmp_path)
    assert sc.how == "exact" and sc.docs == 300
    monkeypatch.setattr(count_mod, "SAMPLE_BYTES", sc.bytes // 5)
    sc = count_mod.count_source(src, tmp_path)
    assert sc.how == "estimated" and sc.docs == pytest.approx(300, rel=0.15)


def test_pdf_pages_and_scanned_share(tmp_path):
    from mmedc.extract.pymupdf_import import load_pymupdf

    pymupdf = load_pymupdf()
    doc = pymupdf.open()
    for i in range(4):
        page = doc.new_page()
        if i < 2:  # two text pages, two blank (scanned-looking) ones
            page.insert_textbox(pymupdf.Rect(50, 50, 550, 800), "Hypertension and diabetes care. " * 40)
    doc.save(tmp_path / "book.pdf")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    sc = count_mod.count_source({"name": "b", "kind": "pdf", "paths": ["."]}, tmp_path)
    assert sc.docs == 2 and sc.pages == 4 and sc.scanned_share == pytest.approx(0.5)
    assert len(sc.errors) == 1 and "broken.pdf" in sc.errors[0]


# ------------------------------------------------------------------------------ missing and assumed

def test_missing_source_reported_not_fatal(corpus):
    r = recipe(corpus, '[[sources]]\nname = "cx"\nkind = "parquet"\npaths = ["in"]\n'
                       '[[sources]]\nname = "later"\nkind = "jsonl"\npaths = ["nowhere/*.jsonl"]\n')
    code, out = plan_cli(r, "--cores", "2")
    assert code == 0, out
    assert "not found, not counted: later" in out and "cx" in out
    code, out = plan_cli(r, "--json", "--assume-docs", "later=2.5M")
    later = json.loads(out)["sources"][1]
    assert later["how"] == "assumed" and later["docs"] == 2.5e6 and later["core_hours"] > 0
    code, out = plan_cli(r, "--assume-docs", "nosuch=5")
    assert code == 1 and "nosuch" in out


def test_full_mmedc_recipe_plans_from_assumed_sizes():
    from mmedc.config import load_recipe

    full = ROOT / "pipelines" / "mmedc_full.toml"
    recipe_ = load_recipe(full)  # a valid recipe for `mmedc run`
    kinds = {s.kind for s in recipe_.sources}
    assert kinds == {"parquet", "warc", "pdf", "text"}
    assert all(s.books.endswith("books.tsv") for s in recipe_.sources if s.kind == "pdf")  # book lists
    assert sum(s.name.startswith("culturax-") for s in recipe_.sources) == 6
    sizes = ROOT / "pipelines" / "mmedc_full.sizes.toml"
    plan = make_plan(full, 256, assume=[str(sizes)])
    assert all(sp.how == "assumed" and sp.core_hours > 0 for sp in plan.sources)
    en = next(sp for sp in plan.sources if sp.count.name == "culturax-en")
    assert en.docs == 3_241_065_682 and en.kept_docs < en.docs * 0.01
    code, out = plan_cli(full, "--cores", "256", "--assume-docs", sizes)
    assert code == 0 and "culturax-en" in out and "total" in out
    assert max(len(line) for line in out.splitlines()) <= 80


# ------------------------------------------------------------------------------- rates and order

def test_rates_file_changes_the_estimate(corpus, tmp_path):
    r = recipe(corpus, '[[sources]]\nname = "cx"\nkind = "parquet"\npaths = ["in"]\n')
    base = make_plan(r, 2)
    rates = tmp_path / "slow.toml"
    rates.write_text(f"[steps]\nlangid = {load_rates()['steps']['langid'] / 2}\n[sources.cx]\nmedical_kept = 0.5\n")
    slow = make_plan(r, 2, rates_file=rates)
    lid = lambda p: next(s for s in p.sources[0].stages if s.step == "langid")  # noqa: E731
    # Half the LID rate, and (medical first) 0.5 / the default share of the documents reach LID.
    reach = 0.5 / load_rates()["medical_kept"]["parquet"]
    assert lid(slow).core_hours == pytest.approx(2 * reach * lid(base).core_hours)
    assert slow.sources[0].kept_docs > 5 * base.sources[0].kept_docs
    bad = tmp_path / "bad.toml"
    bad.write_text("[stepz]\nlangid = 1\n")
    with pytest.raises(RatesError, match="stepz"):
        make_plan(r, 2, rates_file=bad)
    code, out = plan_cli(r, "--rates", bad)
    assert code == 1 and "stepz" in out


def test_recipe_step_order_decides_who_sees_what(corpus):
    r = recipe(corpus, '[[sources]]\nname = "cx"\nkind = "parquet"\npaths = ["in"]\n')
    body = '[[sources]]\nname = "cx"\nkind = "parquet"\npaths = ["in"]\n[quality]\nenabled = false\n'
    p = corpus / "cascade.toml"
    p.write_text('[pipeline]\nlanguages = ["en"]\nsteps = ["medical", "langid", "pii", "dedup", "tokenize"]\n' + body)
    plan = make_plan(p, 2)
    st = {s.step: s for s in plan.sources[0].stages}
    assert list(st) == ["ingest", "medical", "langid", "pii", "dedup", "tokenize"]
    assert st["langid"].docs == pytest.approx(st["medical"].docs * load_rates()["medical_kept"]["parquet"])
    first = make_plan(r, 2).sources[0]
    assert plan.sources[0].core_hours < first.core_hours  # LID on candidates only


def test_default_rates_round_trip():
    rates = tomllib.loads(DEFAULT_PATH.read_text())
    assert tomllib.loads(dumps(rates)) == rates
    for step in rates["order"]["steps"][1:]:
        assert rates["steps"][step] > 0


def test_parse_count():
    assert parse_count("3,241,065,682") == 3_241_065_682
    assert parse_count("2.5M") == 2.5e6 and parse_count("1.2e9") == 1.2e9 and parse_count("5k") == 5000
    with pytest.raises(PlanError):
        parse_count("lots")
