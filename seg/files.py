"""Where the repository's folders are, and the one way every file is written: atomically."""

from __future__ import annotations

import os
import threading
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
REPO = PACKAGE.parent
RESULTS = REPO / "results"  # every measured JSON the app and the docs read
SAMPLE_PHOTO = PACKAGE / "assets" / "chelsea.png"  # scikit-image's CC0 sample cat: the example everywhere


def atomic_write(path: Path, write) -> None:
    """`write(tmp_path)`, then rename over `path`: readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_name(path)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)  # temp files are private; the finished file is not
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def temp_name(path: Path) -> Path:
    """atomic_write's temporary file for path: hidden, one per writer thread, named with its process."""
    return path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")


def dead_temp_files(folder: Path) -> list[Path]:
    """atomic_write's temporary files in folder whose process is gone: a killed writer's half files."""
    dead = []
    for tmp in Path(folder).glob(".*.tmp"):
        parts = tmp.name.split(".")  # "", NAME..., PID, THREAD, "tmp"
        if len(parts) >= 4 and parts[-3].isdigit() and not pid_alive(int(parts[-3])):
            dead.append(tmp)
    return dead


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs: a file named after a dead one is a killed writer's."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True
