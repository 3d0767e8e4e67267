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


def test_the_listed_files_alone_work_on_the_vm(tmp_path):
    """What `mpremote mip install lib/vebus/package.json` copies is all vebus needs."""
    import shutil
    import subprocess

    from tools.mptest import find_micropython

    meta = json.loads((PKG / "package.json").read_text())
    for dest, src in meta["urls"]:
        (tmp_path / dest).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(PKG / src, tmp_path / dest)
    code = (
        "import vebus\n"
        "from vebus import catalogue, mk2\n"
        "got = []\n"
        "d = vebus.Decoder(lambda f: got.append((f.frame_no, bytes(f.payload))))\n"
        "d.feed(bytes.fromhex('8383fd025551180297ff98f7fe603f070000005dff'))\n"
        "print(got, vebus.decoder.NATIVE)\n"
    )
    proc = subprocess.run(
        [find_micropython(), "-c", code],
        capture_output=True,
        text=True,
        env={"MICROPYPATH": ".frozen:" + str(tmp_path)},
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[(2, b'UQ\\x18\\x02'), (96, b'?\\x07\\x00\\x00\\x00')] True"
