"""lib/vebus installs on its own: package.json (mpremote mip) and manifest.py list every module."""

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "lib" / "vebus"


def _modules():
    return sorted(p.name for p in PKG.glob("*.py") if p.name != "manifest.py")


def test_package_json_lists_every_module_with_a_relative_url():
    meta = json.loads((PKG / "package.json").read_text())
    urls = meta["urls"]
    assert sorted(src for _, src in urls) == _modules()
    for dest, src in urls:
        assert dest == "vebus/" + src
        assert (PKG / src).exists()
    import vebus

    assert meta["version"] == vebus.__version__


def test_manifest_packages_this_folder():
    calls = []
    ns = {
        "metadata": lambda **kw: calls.append(("metadata", kw)),
        "package": lambda name, base_path=".": calls.append(("package", name, base_path)),
    }
    exec((PKG / "manifest.py").read_text(), ns)
    assert ("package", "vebus", "..") in calls
    assert (PKG / ".." / "vebus" / "__init__.py").resolve() == PKG / "__init__.py"
    import vebus

    assert calls[0][1]["version"] == vebus.__version__
