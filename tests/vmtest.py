"""Helpers shared by test modules that run on both CPython (pytest) and the MicroPython VM.

Plain functions and assert only: no pytest import at module level, so the VM can load it.
"""

import os
import sys

ON_VM = sys.implementation.name == "micropython"
_TESTS = __file__.rpartition("/")[0] or "."
OUT = (_TESTS.rpartition("/")[0] or ".") + "/out/tests"  # scratch files of this checkout


def mkdirs(path):
    """os.mkdir for path and every missing parent (MicroPython has no os.makedirs)."""
    parts = path.split("/")
    for k in range(1, len(parts) + 1):
        p = "/".join(parts[:k])
        if p:
            try:
                os.mkdir(p)
            except OSError:
                pass


def rmtree(path):
    """Remove a file or a folder with everything in it (MicroPython has no shutil)."""
    try:
        os.remove(path)
        return
    except OSError:
        pass
    try:
        names = os.listdir(path)
    except OSError:
        return
    for n in names:
        rmtree(path + "/" + n)
    os.rmdir(path)


def fresh_root(name):
    """An empty folder (out/tests/NAME/) for one test's files: settings, event log, latch."""
    path = OUT + "/" + name
    mkdirs(path)
    for f in os.listdir(path):
        rmtree(path + "/" + f)
    return path + "/"


class Skip(Exception):
    """A test that does not apply on this VM. tools/vm_runner.py counts it as skipped."""


def skip(reason):
    if not ON_VM:
        import pytest  # pyright: ignore[reportMissingImports]  (host only)

        pytest.skip(reason)
    raise Skip(reason)


def requires_vm(reason="needs the MicroPython VM (heap_lock, real ticks)"):
    if not ON_VM:
        skip(reason)


def raises(exc_type, fn, *args, **kwargs):
    """Assert that fn(*args, **kwargs) raises exc_type; return the exception."""
    try:
        fn(*args, **kwargs)
    except exc_type as e:
        return e
    raise AssertionError("%s not raised" % exc_type.__name__)


def alloc_bytes(fn, *args):
    """Bytes the heap grew by during fn(*args) on the VM (gc disabled while measuring)."""
    import gc

    gc.collect()
    gc.disable()
    try:
        before = gc.mem_alloc()
        fn(*args)
        return gc.mem_alloc() - before
    finally:
        gc.enable()


def locked(fn):
    """fn() with micropython.heap_lock() (VM only): any allocation raises MemoryError."""
    import micropython

    micropython.heap_lock()
    try:
        fn()
    finally:
        micropython.heap_unlock()
