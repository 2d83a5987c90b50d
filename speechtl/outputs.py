"""Outputs written safely: complete or not at all, never over an input, errors naming the path.

Outputs the user names (``-o``) and the files of a run are written by
:class:`AtomicOutput`: a temporary file beside the target, renamed onto it when
complete, so a failed command (disk full, an unreadable input) leaves an earlier
file as it was and no half-written one. No output may be one of the command's
inputs (:func:`refuse_output_among_inputs`, checked before either is opened). A
write the system refuses (disk full, no permission, a read-only file system) is
an :class:`~speechtl.errors.OutputError` naming the path, so the CLI exits 2 with
one line instead of reporting a bug.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
from pathlib import Path
from typing import Iterable

from speechtl.errors import OutputError, shorten


# ------------------------------------------------------------- writing safely
def output_error(err: OSError, path: str | Path) -> OutputError:
    """A user error for an output the system refused (disk full, permissions...), naming ``path``."""
    reason = err.strerror or type(err).__name__
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        reason += " (free some space and run the command again; nothing half-written was kept)"
    return OutputError(f"{shorten(path, 200)}: cannot write: {reason}")


def remove_quietly(path: Path) -> None:
    """Remove a temporary file or folder, if it is there (cleaning up after an error must not raise another)."""
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    except OSError:
        pass


def refuse_output_among_inputs(output: str | Path, inputs: Iterable[str | Path], option: str = "-o") -> None:
    """Raise :class:`OutputError` when ``output`` is the same file as one of ``inputs`` (before either is opened)."""
    out = Path(output)
    real = os.path.realpath(out)
    for source in inputs:
        try:
            same = os.path.samefile(out, source)
        except OSError:  # one of them does not exist (yet): compare the paths
            same = real == os.path.realpath(source)
        if same:
            raise OutputError(f"{option} {shorten(out, 200)}: is one of the inputs ({shorten(source, 200)}); "
                              "writing there would destroy it; choose another output")


class AtomicOutput:
    """A text (or binary) file written under a temporary name beside ``path``, renamed onto it by :meth:`commit`.

    Until :meth:`commit`, ``path`` is untouched; :meth:`discard` (or an error inside
    ``with``) removes the temporary file. A target that exists but is not a regular
    file (``/dev/stdout``, a FIFO) is written directly; a symbolic link's target is
    replaced, not the link. Errors of the system are :class:`OutputError` naming ``path``.
    """

    def __init__(self, path: str | Path, binary: bool = False) -> None:
        self.shown = Path(path)
        self.path = Path(os.path.realpath(path))
        if self.path.is_dir():
            raise OutputError(f"{shorten(path, 200)}: is a folder; expected a file name")
        direct = self.path.exists() and not self.path.is_file()
        self.tmp = None if direct else self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}.tmp")
        mode, encoding = ("wb", None) if binary else ("w", "utf-8")
        try:
            if direct:
                self.file = open(self.path, mode, encoding=encoding)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
                self.file = os.fdopen(fd, mode, encoding=encoding)
        except OSError as err:
            raise output_error(err, path) from None

    def write(self, data: str | bytes) -> None:
        try:
            self.file.write(data)
        except OSError as err:
            self.discard()
            raise output_error(err, self.shown) from None

    def commit(self) -> None:
        """Flush, sync and rename the temporary file onto the target."""
        try:
            self.file.flush()
            if self.tmp is not None:
                os.fsync(self.file.fileno())
            self.file.close()
            if self.tmp is not None:
                os.replace(self.tmp, self.path)
        except OSError as err:
            self.discard()
            raise output_error(err, self.shown) from None

    def discard(self) -> None:
        """Drop what was written; the target stays as it was."""
        try:
            self.file.close()
        except OSError:
            pass
        if self.tmp is not None:
            remove_quietly(self.tmp)

    def __enter__(self) -> "AtomicOutput":
        return self

    def __exit__(self, kind, err, tb) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()


def write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (see :class:`AtomicOutput`)."""
    with AtomicOutput(path) as out:
        out.write(text)
