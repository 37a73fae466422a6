"""Owner-only state: the files and folders every role keeps (ADR 0017).

The agent's workspace, the aggregator's state folder and the custodian's
folder hold secret keys, password and token hashes, pseudonymous visits and
unpublished tables. Their files are created 0600 and their folders 0700 from
the first byte, whatever the umask: a file's mode is given to ``open`` (which
the umask can only narrow), a folder is set with ``chmod`` after ``mkdir``.
SQLite creates its ``-wal``, ``-shm`` and ``-journal`` files with the mode of
the database file, so a database file created here keeps its companions
private too. Files that libraries create (Parquet, SQLite's temporary files)
are covered by the ``publiek`` command's umask (:func:`restrict_umask`).

Here rather than in one role because all three need it and ``protocol`` is
the one package every role may import.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from protocol.errors import UsageError

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700
PRIVATE_UMASK = 0o077


def restrict_umask() -> int:
    """Take group and other bits out of the process umask (keeping any stricter
    bits it had); return the previous umask so a caller can put it back."""
    previous = os.umask(PRIVATE_UMASK)
    os.umask(previous | PRIVATE_UMASK)
    return previous


def private_dir(path: Path) -> Path:
    """``path`` (and missing parents) as a folder, the folder itself mode 0700."""
    path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    path.chmod(PRIVATE_DIR_MODE)
    return path


def write_private(path: Path, content: bytes) -> None:
    """Replace ``path`` by ``content`` in one step, created with mode 0600 (never
    readable by others, not even while it is being written)."""
    path.parent.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    try:
        os.write(fd, content)
        os.fsync(fd)
    finally:
        os.close(fd)
    tmp.chmod(PRIVATE_FILE_MODE)  # a leftover .tmp of an older version may be wider
    tmp.replace(path)


def create_private(path: Path) -> None:
    """Create ``path`` as an empty 0600 file unless it exists (a database file,
    before the database library opens it with its own default mode)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return
    os.close(fd)


@dataclass(frozen=True)
class Repaired:
    """One path whose mode let others in, and the modes before and after."""

    path: Path
    before: int
    after: int

    def warning(self) -> str:
        return (
            f"warning: {self.path} was mode {self.before:04o} (others could read it); "
            f"made it {self.after:04o}"
        )


def repair_private(root: Path, *files: Path) -> list[Repaired]:
    """Take group and other permissions off every folder and file under ``root``
    (folders become 0700, files keep only their owner bits) and off ``files``
    outside it; return what changed. Symbolic links are left alone, and not
    followed. A path the process may not change is a usage error naming the
    command that fixes it.

    On Windows the modes say nothing about other accounts (the folder's ACL
    does, docs/operations.md), so nothing is changed there."""
    if os.name == "nt":
        return []
    paths: list[Path] = []
    if root.is_dir():
        paths.append(root)
        for folder, dirs, names in os.walk(root):
            paths.extend(Path(folder) / d for d in dirs)
            paths.extend(Path(folder) / n for n in names)
    paths.extend(f for f in files if f not in paths)
    repaired = []
    for path in paths:
        try:
            st = path.lstat()
        except FileNotFoundError:
            continue  # a -wal or -shm file that is not there
        mode = stat.S_IMODE(st.st_mode)
        if stat.S_ISLNK(st.st_mode) or not mode & PRIVATE_UMASK:
            continue
        wanted = PRIVATE_DIR_MODE if stat.S_ISDIR(st.st_mode) else mode & PRIVATE_DIR_MODE
        try:
            path.chmod(wanted)
        except PermissionError as exc:
            raise UsageError(
                f"{path} is mode {mode:04o} and this user cannot make it private",
                hint=f"as its owner, run: chmod {wanted:o} {path}",
            ) from exc
        repaired.append(Repaired(path, mode, wanted))
    return repaired
