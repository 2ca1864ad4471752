"""Errors a user can cause: each carries a one-line message that says what to fix."""


class MmedcError(Exception):
    """Base of errors shown to the user as one line (no traceback)."""


def short_error(e: BaseException) -> str:
    """`Type: first line of the message`, at most 300 characters: what goes into an audit reason."""
    msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return f"{type(e).__name__}: {msg}"[:300]
