"""`mmedc plan RECIPE`: what a run will cost before it starts (mmedc.plan.estimate)."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

import typer


def human_count(n: float) -> str:
    for unit, div in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= div:
            return f"{n / div:.3g} {unit}"
    return f"{n:.0f}"


def human_bytes(n: float) -> str:
    for unit, div in (("PB", 1e15), ("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= div:
            return f"{n / div:.3g} {unit}"
    return f"{n:.0f} B"


def human_hours(h: float) -> str:
    if h < 1 / 60:
        return f"{h * 3600:.0f} s"
    if h < 1:
        return f"{h * 60:.0f} min"
    if h < 48:
        return f"{h:.1f} h"
    return f"{h / 24:,.0f} d" if h < 24 * 1000 else f"{h / 24 / 365:,.1f} y"


def human_core_hours(h: float) -> str:
    return "<0.01" if 0 < h < 0.01 else f"{h:,.2f}" if h < 100 else f"{h:,.0f}"


# Marks after a source's name: how its size is known (a legend is printed under the table).
MARK = {"exact": "", "estimated": "~", "assumed": "*", "not found": "?"}
LEGEND = {"~": "~ size from sampled files", "*": "* size assumed (--assume-docs / [sources.NAME])",
          "?": "? files not found, not counted"}


def render(plan, console, detail: bool = False) -> None:
    """Per source (documents in, kept, core-hours, wall, disk) and per step over all sources; with
    `detail`, every source × step."""
    from rich.table import Table

    def table(title: str, cols: list[str]) -> Table:
        t = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
        t.add_column(cols[0], overflow="fold", max_width=24)
        for col in cols[1:]:
            t.add_column(col, justify="left" if col == "step" else "right")
        return t

    wall = lambda h: human_hours(h / plan.cores)  # noqa: E731
    if detail:
        t = table(f"{Path(plan.recipe).name}: per source and step, {plan.cores} core(s)",
                  ["source", "step", "documents", "core-h", "wall", "disk"])
        for sp in plan.sources:
            c = sp.count
            labels = [c.name + MARK.get(sp.how, "?"), c.kind]
            if not sp.stages:
                t.add_row(labels[0], "-", "-", "-", "-", "-")
                t.add_row(labels[1], "", "", "", "", "", end_section=True)
                continue
            for i, st in enumerate(sp.stages):
                docs = f"{human_count(sp.pages)} pages" if st.step == "ingest" and c.kind == "pdf" else human_count(st.docs)
                t.add_row(labels[i] if i < 2 else "", st.step, docs, human_core_hours(st.core_hours),
                          wall(st.core_hours), human_bytes(st.disk_bytes), end_section=i == len(sp.stages) - 1)
        console.print(t)
    t = table(f"{Path(plan.recipe).name}: per source, {plan.cores} core(s)",
              ["source", "documents", "kept", "core-h", "wall", "disk"])
    for sp in plan.sources:
        c = sp.count
        docs = human_count(sp.docs) + (f" ({human_count(sp.pages)} p)" if c.kind == "pdf" and sp.pages else "")
        name = f"{c.name}{MARK.get(sp.how, '?')} [dim]{c.kind}[/]"
        if not sp.stages:
            t.add_row(name, "-", "-", "-", "-", "-")
            continue
        t.add_row(name, docs, human_count(sp.kept_docs), human_core_hours(sp.core_hours), wall(sp.core_hours),
                  human_bytes(sp.disk_bytes))
    console.print(t)
    t = table("per step, all sources, in run order", ["step", "documents", "core-h", "share", "wall", "disk"])
    total = plan.core_hours or 1
    for name, st in plan.stage_totals().items():
        t.add_row(name, human_count(st.docs), human_core_hours(st.core_hours), f"{st.core_hours / total:.0%}",
                  wall(st.core_hours), human_bytes(st.disk_bytes))
    t.add_section()
    kept = sum(sp.kept_docs for sp in plan.sources)
    t.add_row("total", f"{human_count(kept)} kept", human_core_hours(plan.core_hours), "", wall(plan.core_hours),
              human_bytes(plan.disk_bytes))
    console.print(t)
    marks = sorted({MARK.get(sp.how, "?") for sp in plan.sources} - {""})
    if marks:
        console.print("; ".join(LEGEND[m] for m in marks), style="dim", markup=False)
    lost = [sp.count.name for sp in plan.sources if sp.how == "not found"]
    if lost:
        console.print(f"[yellow]not found, not counted: {', '.join(lost)} (--assume-docs NAME=N)[/]")
    for sp in plan.sources:
        for e in sp.count.errors[:3]:
            console.print(f"[yellow]{sp.count.name}: {e}[/]")
    if plan.rates_measured:
        console.print(f"rates: {plan.rates_measured}", style="dim")


def register(app: typer.Typer):
    @app.command("plan")
    def plan_cmd(
        recipe: Path = typer.Argument(..., help="Recipe TOML, e.g. pipelines/mmedc_full.toml."),
        cores: int = typer.Option(os.cpu_count() or 1, "--cores", "-c", min=1, help="Cores the run will have (wall time = core-hours / cores)."),
        rates: Optional[Path] = typer.Option(None, "--rates", help="TOML merged over mmedc/plan/rates.toml (per-core rates, kept shares, [sources.NAME] overrides)."),
        assume_docs: list[str] = typer.Option([], "--assume-docs", show_default="none", help="Size of a source whose files are not here: NAME=N (pdf: NAME=pages:N), or a TOML file of NAME = N / [NAME] docs=.., pages=.., medical_kept=..; repeatable."),
        detail: bool = typer.Option(False, "--detail", "-d", help="Also a row for every source × step."),
        as_json: bool = typer.Option(False, "--json", help="Print the plan as JSON."),
    ):
        """Estimate a run before starting it: documents per source and step (Parquet footers, file sizes,
        PDF page counts — never reading all text), core-hours, wall time on N cores and disk."""
        from rich.console import Console

        from mmedc.plan.estimate import PlanError, make_plan
        from mmedc.plan.rates import RatesError

        try:
            plan = make_plan(recipe, cores, rates, assume_docs)
        except (PlanError, RatesError) as e:
            typer.secho(f"error: {e}", fg=typer.colors.RED, err=True)
            raise typer.Exit(1)
        if as_json:
            typer.echo(json.dumps(plan.to_dict(), indent=1))
            return
        render(plan, Console(width=80), detail)
