"""Book lists (mmedc.sources.books): titles mapped to PDF files, one `books` audit row per title
(found / missing / failed), coverage in `mmedc audit summary`, `audit check`, the fingerprint."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from mmedc.cli import app
from mmedc.config import RecipeError, load_recipe
from mmedc.engine.runner import RunError, plan_units, run
from mmedc.executor import LocalExecutor
from mmedc.extract.book_samples import PageSpec, write_pdf
from mmedc.sample.build import all_docs
from mmedc.sources.books import BookListError, normalise, parse_book_list

MED = {d["id"]: d["text"] for d in all_docs() if d["lang"] == "en" and d["label"] == "medical"}


def _book(path: Path, *texts: str) -> Path:
    """A text-layer PDF (no OCR: fast), one page per text."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_pdf(path, [PageSpec([t]) for t in texts], title=path.stem)


def _setup(root: Path, books_tsv: str) -> Path:
    lib = root / "library"
    _book(lib / "Principles_of_Internal_Medicine_21e.pdf", MED["en-diabetes"], MED["en-pneumonia"])
    _book(lib / "internal medicine notes.pdf", MED["en-migraine"])  # matches no title: not read
    _book(root / "lists" / "pharm" / "cp.pdf", "Front matter page.", MED["en-pneumonia"] + " Dosing in renal failure.",
          "Index page.")
    (lib / "Broken Book.pdf").write_bytes(b"%PDF-1.7\nthis is not a PDF body at all\n")
    (root / "lists").mkdir(exist_ok=True)
    (root / "lists" / "books.tsv").write_text(books_tsv)
    r = root / "r.toml"
    r.write_text(textwrap.dedent("""
        [pipeline]
        name = "books"
        languages = ["en"]
        [[sources]]
        name = "tb"
        kind = "pdf"
        paths = ["library"]
        books = "lists/books.tsv"
        """))
    return r


LIST = ("title\tlanguage\tfile\tpages\n"
        "# the books this run must read\n"
        "Principles of Internal Medicine\ten\t\t\n"
        "Clinical Pharmacology\ten\tpharm/cp.pdf\t2-2\n"
        "Atlas of Anatomy\ten\t\t\n"
        "Broken Book\ten\t\t\n")


def test_found_missing_failed_rows_coverage_and_check(tmp_path):
    r = _setup(tmp_path, LIST)
    recipe = load_recipe(r)
    names = sorted(Path(u.path).name for u in plan_units(recipe))
    assert names == ["Broken Book.pdf", "Principles_of_Internal_Medicine_21e.pdf", "cp.pdf"]  # listed books only
    out = tmp_path / "out"
    run(recipe, out, progress=False, executor=LocalExecutor())

    rows = pl.read_parquet(str(out / "audit" / "books" / "*.parquet"))
    got = {json.loads(d)["title"]: (dec, (why or "").split(":")[0]) for d, dec, why in
           rows.select("detail", "decision", "reason").iter_rows()}
    assert got == {"Principles of Internal Medicine": ("kept", ""), "Clinical Pharmacology": ("kept", ""),
                   "Atlas of Anatomy": ("dropped", "missing_book"), "Broken Book": ("failed", "corrupt_pdf")}
    assert rows["id"].to_list() == [f"tb:books.tsv#{n}" for n in (3, 4, 5, 6)]  # list order, line numbers
    found = json.loads(rows.filter(pl.col("id") == "tb:books.tsv#3")["detail"][0])
    assert found["documents"] == ["tb:Principles_of_Internal_Medicine_21e.pdf"]
    # the page range of the list replaced the page rule: only page 2 of cp.pdf was read
    ingest = pl.read_parquet(str(out / "audit" / "ingest" / "*.parquet"))
    kept = pl.read_parquet(str(out / "work" / "filtered" / "*.parquet"))
    cp = kept.filter(pl.col("id") == "tb:cp.pdf")["text"]
    if len(cp):  # it may be dropped by a later step; its ingest row says what was read
        assert "Front matter" not in cp[0] and "Index page" not in cp[0]
    assert ingest.filter(pl.col("id") == "tb:cp.pdf")["decision"][0] == "kept"

    cli = CliRunner()
    res = cli.invoke(app, ["audit", "summary", str(out), "--by", "step"])
    assert res.exit_code == 0, res.output
    assert 'books (tb): 2/4 found, 1 missing, 1 failed; missing: "Atlas of Anatomy"; ' \
           'failed: "Broken Book" (corrupt_pdf)' in " ".join(res.output.split())
    assert "│ books" not in res.output  # titles are not documents: no step row for them
    res = cli.invoke(app, ["audit", "check", str(out)])
    assert res.exit_code == 0, res.output
    assert "4 book titles" in " ".join(res.output.split())
    res = cli.invoke(app, ["audit", "explain", str(out), "tb:books.tsv#5"])  # a title's row
    assert res.exit_code == 0 and "missing_book" in res.output, res.output
    res = cli.invoke(app, ["audit", "books", str(out), "--json"])
    assert res.exit_code == 0, res.output
    listed = json.loads(res.output)
    assert [t["status"] for t in listed["titles"]] == ["found", "found", "missing", "failed"]
    assert listed["coverage"][0]["missing_titles"] == ["Atlas of Anatomy"]

    from mmedc.report import build_report

    html = build_report(out, tmp_path / "report.html").read_text()
    assert "Book lists: coverage" in html and "2/4 found, 1 missing, 1 failed" in html
    assert "Atlas of Anatomy" in html and "✓ audit check passed" in html

    # a missing book's file arrives: the re-run reads it and its row says found (never a stale row)
    _book(tmp_path / "library" / "atlas-of-anatomy.pdf", MED["en-migraine"])
    run(load_recipe(r), out, progress=False, executor=LocalExecutor())
    rows = pl.read_parquet(str(out / "audit" / "books" / "*.parquet"))
    assert rows.filter(pl.col("id") == "tb:books.tsv#5")["decision"].to_list() == ["kept"]
    assert cli.invoke(app, ["audit", "check", str(out)]).exit_code == 0

    # the list is part of the fingerprint: an edited list never reuses the finished run's work
    fp = recipe.fingerprint()
    (tmp_path / "lists" / "books.tsv").write_text(LIST.replace("2-2", "2-3"))
    changed = load_recipe(r)
    assert changed.fingerprint() != fp
    with pytest.raises(RunError, match="fingerprint"):
        run(changed, out, progress=False, executor=LocalExecutor())


def test_title_matching_rule():
    bl = parse_book_list("title\tlanguage\n"
                         "Anatomy\ten\n"
                         "Clinical Anatomy\ten\n"
                         "Harrison's Principles of Internal Medicine\ten\n"
                         "内科学\tzh\n", "b.tsv")
    def title(name):
        e = bl.entry_for(f"/lib/{name}")
        return e.title if e else None

    assert title("Clinical_Anatomy-3rd ed.pdf") == "Clinical Anatomy"  # the longest title wins
    assert title("anatomy.pdf") == "Anatomy"
    assert title("Neuroanatomy.pdf") is None  # words, not parts of words
    assert title("HARRISONS principles of internal medicine (21e).pdf").startswith("Harrison")
    assert title("内科学第9版.pdf") == "内科学"  # CJK names have no spaces
    assert normalise("Café  Médical, 2nd Ed.") == "cafe medical 2nd ed"
    assert normalise("がん診療") == "がん診療" and normalise("Йод_и_щитовидная") == "иод и щитовидная"


@pytest.mark.parametrize("text,where", [
    ("title\tlanguage\tpublisher\n", "b.tsv:1: header"),  # unknown column
    ("title\tfile\n", "b.tsv:1: header"),  # no language column
    ("title\tlanguage\n\nGood\ten\nBad\ten\textra\n", "b.tsv:4: 3 tab-separated cells"),
    ("title\tlanguage\tpages\nA\ten\t120-5\n", "b.tsv:2: pages"),
    ("title\tlanguage\nA\tEnglish language\n", "b.tsv:2: language"),
    ("title\tlanguage\nA\ten\na\ten\n", "b.tsv:3: 'a' (en) is listed already on line 2"),
    ("title\tlanguage\n\ten\n", "b.tsv:2: empty title"),
])
def test_malformed_list_names_the_line(text, where):
    with pytest.raises(BookListError) as e:
        parse_book_list(text, "b.tsv")
    assert str(e.value).startswith(where) and "\n" not in str(e.value)


def test_malformed_list_stops_the_recipe(tmp_path):
    r = _setup(tmp_path, "title\tlanguage\nA\ten\tx\n")
    with pytest.raises(RecipeError, match=r"books.tsv:2: 3 tab-separated cells"):
        load_recipe(r)
    (tmp_path / "lists" / "books.tsv").unlink()  # a placeholder list: loads, the run says what is missing
    with pytest.raises(RecipeError, match="book list .* not found"):
        plan_units(load_recipe(r))


def test_listed_files_volumes_and_languages(tmp_path):
    from mmedc.config import SourceConfig
    from mmedc.sources.books import book_files
    from mmedc.sources.registry import declared_lang

    for name in ("Gray's Anatomy vol 1.pdf", "grays_anatomy_vol_2.pdf", "unlisted.pdf", "sub/内科学 第9版.pdf"):
        (tmp_path / "lib" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "lib" / name).write_bytes(b"%PDF")  # names only: nothing is opened here
    (tmp_path / "extra").mkdir()
    (tmp_path / "extra" / "x1.pdf").write_bytes(b"%PDF")
    lst = tmp_path / "lib" / "books.tsv"
    lst.write_text("title\tlanguage\tfile\tlang\nGray's Anatomy\ten\t\t\n内科学\tzh\t\tzh+en\n"
                   "Extra\tru\t../extra/x*.pdf\t\nGone\ten\tnowhere.pdf\t\n")
    src = SourceConfig(name="tb", kind="pdf", paths=["lib"], lang="en", books=str(lst))
    files = [str(f.relative_to(tmp_path)) for f in book_files(src, tmp_path)]
    assert files == ["extra/x1.pdf", "lib/Gray's Anatomy vol 1.pdf", "lib/grays_anatomy_vol_2.pdf", "lib/sub/内科学 第9版.pdf"]
    assert declared_lang(src, tmp_path / "lib" / "sub" / "内科学 第9版.pdf") == "zh+en"  # the list's lang
    assert declared_lang(src, tmp_path / "extra" / "x1.pdf") == "ru"  # its language
    assert declared_lang(src, tmp_path / "lib" / "unlisted.pdf") == "en"  # not listed: the source's
    with pytest.raises(FileNotFoundError):  # a `paths` entry that is not there is an error, as for any source
        book_files(SourceConfig(name="tb", kind="pdf", paths=["nope"], books=str(lst)), tmp_path)
    with pytest.raises(RecipeError, match="kind = \"pdf\""):
        SourceConfig(name="t", kind="text", paths=[], books="b.tsv")


def test_plan_counts_the_listed_books_only(tmp_path):
    """`mmedc plan` on a book-list source counts the PDFs the list names, not every PDF under `paths`."""
    from mmedc.plan.count import count_source, listed_books, source_files

    r = _setup(tmp_path, LIST)
    src = {"name": "tb", "kind": "pdf", "paths": ["library"], "books": "lists/books.tsv"}
    under, _ = source_files(["library"], "pdf", tmp_path)
    names = sorted(f.name for f in listed_books(under, src, ["library"], tmp_path))
    # the titles found under library/ and pharm/cp.pdf (a `file` entry outside `paths`); not
    # "internal medicine notes.pdf", which no title names
    assert names == ["Broken Book.pdf", "Principles_of_Internal_Medicine_21e.pdf", "cp.pdf"]
    assert count_source(src, r.parent).files == 3
    placeholder = {**src, "books": "lists/none.tsv"}  # a list that is not there yet: the folder's PDFs
    assert sorted(f.name for f in listed_books(under, placeholder, ["library"], tmp_path)) == sorted(f.name for f in under)
