"""Ray's chatter to a log file: what Ray and its workers print (start-up warnings, Ray Train's
controller and placement-group cleanup messages, C++ `core_worker.cc` errors at shutdown) goes to
a log file, not the terminal; mmedc's own output and progress bars stay on the terminal. On an
error the log's last lines are shown.

How: file descriptor 2 (C++ and Python logging handlers bound to the old stderr) is pointed at the
log, and `sys.stderr` / `sys.stdout` become sieves that send Ray's forwarded worker lines, which
start with `(<name> pid=N)`, to the log and pass everything else (progress bars included) through.
"""
from __future__ import annotations

import contextlib
import io
import os
import re
import sys
from pathlib import Path

# A line Ray forwards from a worker or actor: optional colour codes, then "(Name pid=123" or "(pid=123".
WORKER_LINE = re.compile(r"^(?:\x1b\[[0-9;]*m)*\((?:[\w.\-]+ )?pid=")


def embedded_ray_env(address: str | None) -> None:
    """Embedded Ray 2.60 turns token authentication on by default and warns about it at every start;
    asking for it explicitly keeps it on without the warning (a user's RAY_AUTH_MODE wins)."""
    if not address:
        os.environ.setdefault("RAY_AUTH_MODE", "token")


class _Sieve(io.TextIOBase):
    def __init__(self, target, log):
        self._target, self._log, self._pending = target, log, False

    def write(self, s: str) -> int:
        # print() writes the line, then its "\n" in a second call: it follows the line it ends.
        if WORKER_LINE.match(s) or (self._pending and s == "\n"):
            self._log.write(s)
            self._pending = s != "\n"
        else:
            self._pending = False
            self._target.write(s)
        return len(s)

    def flush(self):
        self._log.flush()
        self._target.flush()

    def isatty(self) -> bool:
        return self._target.isatty()

    def fileno(self) -> int:
        return self._target.fileno()

    @property
    def encoding(self):
        return getattr(self._target, "encoding", "utf-8")


def _fd(stream) -> int | None:
    try:
        return stream.fileno()
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return None


@contextlib.contextmanager
def ray_output_to(log_path: Path, enabled: bool = True):
    """Send Ray's output to `log_path` (appended) for the duration; on an exception print its last
    lines to the terminal and re-raise. `enabled=False` (or MMEDC_RAY_LOGS=show) changes nothing."""
    if not enabled or os.environ.get("MMEDC_RAY_LOGS") == "show":
        yield None
        return
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    for s in (sys.stdout, sys.stderr):
        s.flush()
    log = open(log_path, "a+", encoding="utf-8", errors="replace", buffering=1)
    start = log.tell()
    saved_fd = os.dup(2)
    terminal = open(os.dup(saved_fd), "w", encoding=getattr(sys.stderr, "encoding", None) or "utf-8",
                    errors="replace", buffering=1)
    os.dup2(log.fileno(), 2)
    old = sys.stdout, sys.stderr
    # The old sys.stderr writes to fd 2, now the log: the sieve passes to a copy of the terminal's fd
    # (a captured stderr, as in tests, keeps its own target).
    sys.stdout, sys.stderr = _Sieve(old[0], log), _Sieve(terminal if _fd(old[1]) == 2 else old[1], log)
    failed = False
    try:
        yield log_path
    except BaseException:
        failed = True
        raise
    finally:
        sys.stdout, sys.stderr = old
        for s in old:
            s.flush()
        log.flush()
        os.dup2(saved_fd, 2)
        os.close(saved_fd)
        last = ""
        if failed:  # read through the handle: `run --restart` may have removed the file meanwhile
            log.seek(start)
            last = "\n".join(log.read().splitlines()[-30:])
        if last.strip():
            terminal.write(f"--- last lines of {log_path} ---\n{last}\n")
        terminal.close()
        log.close()
