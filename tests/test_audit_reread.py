"""`mmedc audit sample` shows a dropped or failed document's text by reading its input again: that
re-read uses the run's `[limits]` (kept in work/recipe.json), not the defaults, so a document the run
failed over a limit has no text there either, and the others still come back."""
import json

from mmedc.sample.texts import MEDICAL

LONG, SHORT, OTHER = (MEDICAL["en"][i][2] for i in range(3))  # 740, 665 and 568 characters
COOKING = ("Preheat the oven to two hundred degrees. Mix the flour, the sugar and the butter in a large bowl "
           "until the dough is smooth, then roll it out and cut it into rounds. Bake the biscuits for twelve "
           "minutes, until they are golden at the edges, and let them cool on a rack before serving with tea.")


def test_sample_rereads_with_the_runs_limits(tmp_path):
    from typer.testing import CliRunner

    from mmedc.audit import query
    from mmedc.cli import app

    assert len(SHORT) < 700 < len(LONG)
    (tmp_path / "docs.jsonl").write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in
                                                 (("long", LONG), ("short", SHORT), ("other", OTHER), ("cake", COOKING))))
    (tmp_path / "recipe.toml").write_text('[pipeline]\nname = "reread"\nlanguages = ["en"]\n\n'
                                          '[limits]\nmax_doc_chars = 700\n\n'
                                          '[[sources]]\nname = "s"\nkind = "jsonl"\npaths = ["docs.jsonl"]\nlang = "en"\n')
    out = tmp_path / "run"
    r = CliRunner().invoke(app, ["run", str(tmp_path / "recipe.toml"), "--out", str(out), "--local", "-q"])
    assert r.exit_code == 0, r.output
    assert json.loads((out / "work" / "recipe.json").read_text())["limits"]["max_doc_chars"] == 700

    failed = query.sample(out, "ingest", "failed")
    assert failed["id"].to_list() == ["s:long"]
    assert failed["reason"][0] == f"limit: max_doc_chars: {len(LONG):,} characters > 700"
    assert failed["text"].to_list() == [None]  # the defaults (10M characters) would read it whole
    res = CliRunner().invoke(app, ["audit", "sample", str(out), "--step", "ingest", "--id", "s:long", "--json"])
    assert res.exit_code == 0, res.output
    assert [row["text"] for row in json.loads(res.output)] == [None]
    # A document dropped by a step (not kept under work/, so read again) still has its text.
    dropped = query.sample(out, "medical", "dropped")
    assert dict(zip(dropped["id"], dropped["text"])) == {"s:cake": COOKING}
