"""lib/vebus installs on its own: package.json (mpremote mip) lists every module (manifest.py:
tests/host/test_manifest.py)."""

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


def test_mip_installs_it_over_http_and_it_works_alone(tmp_path):
    """The VM's own `mip` (what `mpremote mip install` mirrors) installs lib/vebus from its
    package.json over HTTP, and the installed files alone decode frames, natively."""
    import functools
    import http.server
    import subprocess
    import threading

    from tools.mptest import find_micropython

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(ROOT))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d/lib/vebus/package.json" % server.server_address[1]

    def vm(code):
        return subprocess.run(
            [find_micropython(), "-c", code],
            capture_output=True,
            text=True,
            env={"MICROPYPATH": ".frozen:" + str(tmp_path)},
            cwd=tmp_path,
            timeout=60,
        )

    try:
        proc = vm("import mip\nmip.install(%r, target=%r)\n" % (url, str(tmp_path)))
    finally:
        server.shutdown()
    assert proc.returncode == 0 and "Done" in proc.stdout, proc.stdout + proc.stderr
    meta = json.loads((PKG / "package.json").read_text())
    assert sorted(p.name for p in (tmp_path / "vebus").iterdir()) == sorted(
        src for _, src in meta["urls"]
    )
    proc = vm(
        "import vebus\n"
        "from vebus import catalogue, mk2\n"
        "got = []\n"
        "d = vebus.Decoder(lambda f: got.append((f.frame_no, bytes(f.payload))))\n"
        "d.feed(bytes.fromhex('8383fd025551180297ff98f7fe603f070000005dff'))\n"
        "print(got, vebus.decoder.NATIVE)\n"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[(2, b'UQ\\x18\\x02'), (96, b'?\\x07\\x00\\x00\\x00')] True"
