"""Runs every benchmark module in mmedc/bench (or the ones named): `python -m mmedc.bench [NAME...]`."""
from __future__ import annotations

import importlib
import pkgutil
import sys
import time
import traceback
from pathlib import Path


def main(argv: list[str]) -> int:
    names = argv or sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if not m.name.startswith("_"))
    failed = []
    for name in names:
        print(f"\n=== bench: {name} ===", flush=True)
        t0 = time.time()
        try:
            importlib.import_module(f"mmedc.bench.{name}").run()
        except Exception:  # noqa: BLE001 - one broken benchmark does not hide the others
            traceback.print_exc()
            failed.append(name)
        print(f"--- {name}: {time.time() - t0:.1f}s", flush=True)
    if failed:
        print(f"\nfailed benchmarks: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
