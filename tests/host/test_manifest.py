"""manifest.py (the firmware) and lib/vebus/manifest.py, read by MicroPython's own manifest reader
(the one `make BOARD=... FROZEN_MANIFEST=...` runs): they freeze exactly what tools/deploy.py
deploys, and no manifest as a module."""

import importlib.util
from pathlib import Path

import pytest

from tools.board_files import board_files

ROOT = Path(__file__).resolve().parents[2]
READER = ROOT.parent / "shared" / "micropython-tools" / "manifestfile.py"


def _frozen(manifest, tmp_path):
    """(target paths, top-level metadata) of a manifest in freeze mode, with a stand-in port
    whose own manifest freezes one module (port_mod.py)."""
    if not READER.exists():
        pytest.skip("no %s (MicroPython's manifest reader) beside this checkout" % READER)
    spec = importlib.util.spec_from_file_location("manifestfile", READER)
    assert spec and spec.loader
    mf_mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mf_mod)
    port = tmp_path / "port"
    (port / "boards").mkdir(parents=True)
    (port / "boards" / "manifest.py").write_text('module("port_mod.py")\n')
    (port / "boards" / "port_mod.py").write_text("")
    mf = mf_mod.ManifestFile(
        mf_mod.MODE_FREEZE,
        {
            "MPY_DIR": str(tmp_path),
            "PORT_DIR": str(port),
            "BOARD_DIR": str(port),
            "MPY_LIB_DIR": None,
        },
    )
    mf.execute(str(manifest))
    return sorted(f.target_path for f in mf.files()), mf.metadata()


def test_firmware_manifest_freezes_what_deploy_deploys(tmp_path):
    got, _ = _frozen(ROOT / "manifest.py", tmp_path)
    # on a board /lib is on sys.path: lib/vebus/x.py is imported as vebus.x, as a frozen vebus/x.py
    deployed = sorted(p.as_posix().removeprefix("lib/") for p in board_files())
    assert "port_mod.py" in got  # the port's own frozen modules (asyncio, ...) stay in
    assert [p for p in got if p != "port_mod.py"] == deployed
    assert "boot.py" in got and "firmware/app.py" in got and "vebus/decoder.py" in got
    assert not any(p.endswith("manifest.py") for p in got)


def test_vebus_manifest_freezes_its_modules_only(tmp_path):
    import vebus

    got, meta = _frozen(ROOT / "lib" / "vebus" / "manifest.py", tmp_path)
    modules = sorted(p.name for p in (ROOT / "lib" / "vebus").glob("*.py"))
    assert got == ["vebus/" + m for m in modules if m != "manifest.py"]
    assert meta.version == vebus.__version__
