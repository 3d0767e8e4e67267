"""A board's flash as a folder, for tools/deploy.install: its scripts run on the MicroPython unix
port, copies (what `mpremote fs cp` does) are file copies. A power cut after N file operations:
every rename, remove, mkdir, rmdir, file creation and write counts one; the Nth write lands half
of its bytes (a copy cut short), and nothing runs after it (PowerCut).
"""

import shutil
import subprocess
import sys
from pathlib import Path

from tools.mptest import ROOT, find_micropython

# Runs before a script: os and open counted, the script itself unchanged; _FREE >= 0: what
# statvfs answers as free blocks of 4096 bytes.
CUT_PRELUDE = """
import sys, os as _os
_N = [0]
_CUT = %d
_FREE = %d
def _op():
    _N[0] += 1
    return _N[0] > _CUT
def _stop():
    print('CUT')
    raise SystemExit
class _Os:
    def __getattr__(self, n):
        return getattr(_os, n)
    def rename(self, a, b):
        _op() and _stop()
        _os.rename(a, b)
    def remove(self, p):
        _op() and _stop()
        _os.remove(p)
    def mkdir(self, p):
        _op() and _stop()
        _os.mkdir(p)
    def rmdir(self, p):
        _op() and _stop()
        _os.rmdir(p)
    def statvfs(self, p):
        st = _os.statvfs(p)
        return (4096, 4096, 352, _FREE, _FREE, 0, 0, 0, 0, 255) if _FREE >= 0 else st
sys.modules['os'] = _Os()
_open = open
class _W:
    def __init__(self, f):
        self.f = f
    def write(self, b):
        if _op():
            self.f.write(bytes(b)[: len(b) // 2])
            self.f.close()
            _stop()
        return self.f.write(b)
    def close(self):
        self.f.close()
    def __enter__(self):
        return self
    def __exit__(self, *a):
        self.f.close()
def open(p, mode='r'):
    if 'w' in mode or 'a' in mode:
        _op() and _stop()
        return _W(_open(p, mode))
    return _open(p, mode)
"""


class PowerCut(Exception):
    pass


class FolderBoard:
    """exec / put as tools.deploy_board.Board has them, on a folder; cut=N: power cut after
    N file operations (None: never); free_blocks: what statvfs reports; damage: a board path
    whose copy arrives with one bit flipped. `ops` counts what ran, `marks` the count after each
    exec or put (where each step of a deploy ends)."""

    def __init__(self, root, cut=None, free_blocks=-1, damage=None):
        self.root = Path(root)
        self.cut = cut
        self.free_blocks = free_blocks
        self.damage = damage
        self.ops = 0
        self.marks = []

    def _left(self):
        return 10**9 if self.cut is None else self.cut - self.ops

    def exec(self, code, timeout=60):
        pre = CUT_PRELUDE % (self._left(), self.free_blocks)
        code = pre + code + "\nprint('OPS', _N[0])\n"
        proc = subprocess.run(
            [find_micropython(), "-c", code], capture_output=True, text=True, timeout=timeout
        )
        out = proc.stdout + proc.stderr
        if "CUT" in out.splitlines():
            self.ops = self.cut or 0
            raise PowerCut()
        for line in out.splitlines():
            if line.startswith("OPS "):
                self.ops += int(line.split()[1])
        self.marks.append(self.ops)
        return out

    def put(self, files):
        for local, dest in files:
            data = Path(local).read_bytes()
            if dest == self.damage:
                data = bytes([data[0] ^ 1]) + data[1:]
            target = self.root / dest.lstrip("/")
            self.ops += 1
            if self.cut is not None and self.ops > self.cut:
                target.write_bytes(data[: len(data) // 2])
                raise PowerCut()
            target.write_bytes(data)
        self.marks.append(self.ops)


def copy_board(src, dst):
    """A copy of a board's flash (the state before a deploy, for one cut)."""
    dst = Path(dst)
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst)
    return dst


def cli(*args):
    """`python -m tools.deploy ARGS` from the repo: its exit code, stdout and stderr."""
    return subprocess.run(
        [sys.executable, "-m", "tools.deploy", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
