"""The export folder is a bounded cache: least recently used files go first (with their cards),
the file just asked for never, and a killed build's temp files are swept."""

from __future__ import annotations

import os
import subprocess
import sys

from seg.deploy import cache


def export_file(folder, name, size, age_s):
    file = folder / name
    file.write_bytes(b"x" * size)
    cache.card_of(file).write_text("{}")
    os.utime(file, (file.stat().st_atime - age_s, file.stat().st_mtime - age_s))
    return file


def test_the_least_recently_used_go_first_with_their_cards_until_the_bound_holds(tmp_path):
    old, middle, new = (export_file(tmp_path, f"{n}.onnx", 1000, age) for n, age in (("a", 300), ("b", 200), ("c", 100)))
    removed = cache.sweep(tmp_path, keep=new, max_bytes=2100)
    assert not old.exists() and not cache.card_of(old).exists() and cache.card_of(old) in removed
    assert middle.exists() and new.exists()


def test_a_file_used_again_moves_to_the_back_and_the_one_asked_for_stays(tmp_path):
    old, new = export_file(tmp_path, "a.pte", 1000, 300), export_file(tmp_path, "b.pte", 1000, 100)
    cache.used(old)  # a cache hit
    cache.sweep(tmp_path, keep=None, max_bytes=1500)
    assert old.exists() and not new.exists()
    cache.sweep(tmp_path, keep=old, max_bytes=10)  # over the bound, but it is the file asked for
    assert old.exists()


def test_a_killed_builds_temp_file_is_swept_and_a_running_ones_kept(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    killed = tmp_path / f".a.onnx.{dead.stdout.strip()}.1234.tmp"
    running = tmp_path / f".b.onnx.{os.getpid()}.1234.tmp"
    for tmp in (killed, running):
        tmp.write_bytes(b"half a file")
    cache.sweep(tmp_path)
    assert not killed.exists() and running.exists()
