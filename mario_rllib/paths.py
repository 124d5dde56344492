"""Paths users give: checked before anything is written, in one line."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def check_writable_dir(path: str | Path, flag: str, given: str | None = None) -> None:
    """A one-line ValueError unless `path` is a directory that exists, or one that can be made
    (its nearest existing ancestor is a directory this process can write in). Nothing is left
    behind. The error names `given` (what the user typed; default: `path`)."""
    given = str(path) if given is None else given
    existing = Path(path).expanduser().absolute()
    while not os.path.lexists(existing):  # never raises (Path.exists may, in a closed directory)
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(f"bad {flag} {given!r}: {str(existing)!r} is a file, not a "
                         f"directory")
    try:  # the one way to know: a directory made and removed (access() says yes to root)
        os.rmdir(tempfile.mkdtemp(prefix=".mario-rllib-check-", dir=existing))
    except OSError as error:
        raise ValueError(f"bad {flag} {given!r}: cannot write in {str(existing)!r} "
                         f"({error.strerror or error})") from error
