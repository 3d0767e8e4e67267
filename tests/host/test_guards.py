"""Each guard of `make test` bites: shown on a copy of the tree with one defect planted."""

import shutil
import subprocess
import sys
from pathlib import Path

from tools import mptest, mpycheck

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _tree(tmp_path):
    """A minimal board tree: a firmware/ module (a namespace package, as the real one), tests/
    test_imports.py."""
    (tmp_path / "firmware").mkdir()
    (tmp_path / "firmware" / "ok.py").write_text("X = 1\n")
    (tmp_path / "tests").mkdir()
    shutil.copy(ROOT / "tests" / "test_imports.py", tmp_path / "tests")
    return tmp_path


def test_vm_step_fails_on_a_cpython_only_import(tmp_path, capsys):
    root = _tree(tmp_path)
    assert mptest.main(["--root", str(root)]) == 0
    (root / "firmware" / "ann.py").write_text("import typing\n")
    assert mptest.main(["--root", str(root)]) == 1
    out = capsys.readouterr().out
    assert "firmware.ann: ImportError" in out
    assert "micropython: 0 passed, 1 failed, 0 skipped" in out


def test_vm_runner_discovers_every_module_outside_tests_host(tmp_path):
    (tmp_path / "host").mkdir()
    (tmp_path / "test_a.py").write_text("def test_x():\n    pass\n")
    (tmp_path / "host" / "test_b.py").write_text("def test_y():\n    pass\n")
    vm, host = mptest.vm_modules(tmp_path)
    assert [p.name for p in vm] == ["test_a.py"]
    assert [p.name for p in host] == ["test_b.py"]


def test_compile_step_fails_on_syntax_mpy_cross_rejects(tmp_path, capsys):
    root = _tree(tmp_path)
    assert mpycheck.main(["--root", str(root)]) == 0
    # `match` is valid CPython 3.11 but MicroPython has no match statement.
    (root / "firmware" / "m.py").write_text(
        "def f(x):\n    match x:\n        case 1:\n            return 2\n"
    )
    compile(((root / "firmware" / "m.py").read_text()), "m.py", "exec")  # CPython accepts it
    assert mpycheck.main(["--root", str(root)]) == 1
    assert "mpy-cross rejects firmware/m.py" in capsys.readouterr().out


def _pyright(root):
    stubs = ROOT / ".stubs" / "rp2"
    (root / "pyproject.toml").write_text(
        '[tool.pyright]\ninclude = ["firmware"]\ntypeshedPath = "%s"\nextraPaths = ["%s"]\n'
        'typeCheckingMode = "basic"\nreportMissingModuleSource = false\n' % (stubs, stubs)
    )
    return subprocess.run([str(BIN / "pyright")], cwd=root, capture_output=True, text=True)


def test_typecheck_fails_on_a_pin_method_that_does_not_exist(tmp_path):
    root = _tree(tmp_path)
    (root / "firmware" / "io.py").write_text(
        "from machine import Pin\n\np = Pin(2, Pin.OUT)\np.value(1)\np.init(Pin.IN)\n"
    )
    ok = _pyright(root)
    assert ok.returncode == 0, ok.stdout
    (root / "firmware" / "io.py").write_text("from machine import Pin\n\nPin(2).toggle_fast()\n")
    bad = _pyright(root)
    assert bad.returncode != 0
    assert "toggle_fast" in bad.stdout
