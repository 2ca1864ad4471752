"""`mmedc crawl SEEDS... --out DIR`: crawl medical websites politely into WARC files."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer


def register(app: typer.Typer):
    @app.command()
    def crawl(
        seeds: List[str] = typer.Argument(..., help="Seed URLs, or a recipe TOML whose \\[crawl] section lists seeds per language and the limits."),
        out: Path = typer.Option(..., "--out", "-o", help="Folder for OUT/<host>/crawl-NNNNN.warc.gz; a second run into it resumes."),
        lang: str = typer.Option("", "--lang", show_default="none", help="Language of URL seeds (recorded in the WARC metadata)."),
        max_pages: Optional[int] = typer.Option(None, "--max-pages", min=1, help="Responses to archive in all, counting earlier runs (default: the recipe's, or 1000)."),
        max_depth: Optional[int] = typer.Option(None, "--max-depth", min=0, help="Links followed from a seed [6]."),
        delay: Optional[float] = typer.Option(None, "--delay", min=0.0, help="Minimum seconds between requests to one host; robots.txt crawl-delay wins if longer [1.0]."),
        max_bytes: Optional[int] = typer.Option(None, "--max-bytes", min=1, help="Largest response body kept; longer ones are cut (WARC-Truncated) [5000000]."),
        timeout: Optional[float] = typer.Option(None, "--timeout", min=0.1, help="Seconds to connect and between received bytes [20]."),
        max_time: Optional[float] = typer.Option(None, "--max-time", min=1.0, help="Stop after this many seconds, a fetch in flight included (not archived; resume later)."),
        allow_private: bool = typer.Option(False, "--allow-private", help="Allow private, loopback and link-local addresses (refused by default)."),
        include: List[str] = typer.Option([], "--include", show_default="the recipe's", help="Regex a link must match to be followed (repeatable)."),
        exclude: List[str] = typer.Option([], "--exclude", show_default="the recipe's", help="Regex of links never followed (repeatable)."),
        pdfs: Optional[bool] = typer.Option(None, "--pdfs/--no-pdfs", show_default="the recipe's, or --pdfs", help="Fetch and archive PDFs linked within scope (textbooks, guidelines)."),
        pdf_paths: List[str] = typer.Option([], "--pdf-path", show_default="any PDF in scope", help="URL path prefix a PDF must be under, e.g. /books/ (repeatable)."),
        pdf_max_bytes: Optional[int] = typer.Option(None, "--pdf-max-bytes", min=1, help="Largest PDF archived; a larger one is skipped, never cut [67108864]."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    ):
        """Crawl seed sites: stays on the seeds' domains, obeys robots.txt and its crawl-delay, waits between requests to a host, retries with backoff, caps page size and time, refuses non-public addresses, and archives every response (request + response + metadata records) as WARC.

        PDFs linked within scope are archived too (whole, up to --pdf-max-bytes; only under --pdf-path prefixes when given), with any licence hint of the page or the PDF's metadata in MMedC-Licence headers.

        Re-running into the same --out resumes: what is archived there is never fetched again. Feed the result to a recipe as a `kind = "warc"` source, or to `mmedc extract`.
        """
        import dataclasses

        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from mmedc.config import CrawlConfig, RecipeError, load_recipe
        from mmedc.crawl.crawler import Crawler

        console = Console(stderr=True)
        tomls = [s for s in seeds if s.endswith(".toml")]
        if tomls:
            if len(seeds) != 1:
                raise typer.BadParameter("give one recipe TOML, or URLs, not both")
            try:
                recipe = load_recipe(tomls[0])
            except RecipeError as e:
                console.print(f"[red]error:[/] {e}")
                raise typer.Exit(1)
            cfg, read_cap = recipe.crawl, recipe.limits.max_pdf_bytes
            seed_map = cfg.seeds
        else:
            cfg, read_cap = CrawlConfig(), None
            seed_map = {lang or "": list(seeds)}
        overrides = {"max_pages": max_pages, "max_depth": max_depth, "delay": delay, "max_bytes": max_bytes,
                     "timeout": timeout, "include": include or None, "exclude": exclude or None,
                     "pdfs": pdfs, "pdf_paths": pdf_paths or None, "pdf_max_bytes": pdf_max_bytes}
        try:
            cfg = dataclasses.replace(cfg, **{k: v for k, v in overrides.items() if v is not None})
        except RecipeError as e:  # e.g. a --pdf-path that is not a path
            console.print(f"[red]error:[/] {e}")
            raise typer.Exit(1)
        if allow_private:
            cfg = dataclasses.replace(cfg, allow_private=True)
        if read_cap is not None and cfg.pdfs and cfg.pdf_max_bytes > read_cap:
            # archived, then failed by `mmedc run` (recorded, never silent): say so before fetching them
            console.print(f"[yellow]warning:[/] PDFs up to {cfg.pdf_max_bytes:,} bytes are archived, but the recipe's "
                          f"[limits] max_pdf_bytes ({read_cap:,}) fails larger ones when the run reads them")
        try:
            with Progress(TextColumn("crawl"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                          TextColumn("{task.description}"), console=console, disable=quiet) as bar:
                task = bar.add_task("", total=cfg.max_pages)
                cb = (lambda done, total, url: bar.update(task, completed=done, description=url[-60:]))
                crawler = Crawler(cfg, out, seed_map, progress=cb)
                bar.update(task, completed=0)
                res = crawler.run(max_time=max_time)
        except ValueError as e:
            console.print(f"[red]error:[/] {e}")
            raise typer.Exit(1)
        console.print(f"archived {res.fetched} response(s) this run, {res.total_pages} in all → {out} "
                      f"(stopped: {res.stopped})")
        console.print(f"statuses: {dict(res.statuses)}  skipped: {dict(res.skipped)}  retries: {res.retries}")
        for host, status in res.robots.items():
            console.print(f"robots.txt {host}: {status}")
        for e in res.errors[:20]:
            console.print(f"[yellow]{e}[/]")
        if len(res.errors) > 20:
            console.print(f"... and {len(res.errors) - 20} more errors")
