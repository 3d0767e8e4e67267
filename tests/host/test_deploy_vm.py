"""tools/deploy.py against a real MicroPython over a serial-like port: no mock of mpremote.

The MicroPython unix port runs `micropython -i` on pty B with its "/" remounted on a temp folder
(the board's filesystem); a bridge thread copies bytes between pty B's master and pty A's
master, and mpremote opens pty A's slave path as the board's serial port. The unix port has a
raw REPL, hashlib.sha256, binascii, os.ilistdir/mkdir/remove, but cannot reset (no
machine.reset; Ctrl-D ends the process), so deploy runs with --no-reset: nothing is parked or
reset. First deploy: every file copied into image a and verified by the board; again: nothing
to install; one source changed: that one file over USB into image b, now active on trial;
--info: both images' versions.
"""

import os
import pty
import re
import select
import shutil
import subprocess
import sys
import threading
import tty

from folderboard import cli

from tools import deploy
from tools.board_files import board_files
from tools.mptest import ROOT, find_micropython

SETUP = """import vfs, os
vfs.umount('/')
vfs.mount(vfs.VfsPosix(%r), '/')
os.chdir('/')
del vfs, os
"""


class PtyBoard:
    """A MicroPython unix port behind a pty whose slave path (self.port) acts as a board's."""

    def __init__(self, root, setup):
        self.root, self.setup = root, setup

    def __enter__(self):
        self.setup.write_text(SETUP % str(self.root))
        self.ma, self.sa = pty.openpty()  # A: mpremote's side
        self.mb, sb = pty.openpty()  # B: the VM's terminal
        tty.setraw(self.sa)
        tty.setraw(sb)  # no \n -> \r\n: the VM writes \r\n itself
        self.port = os.ttyname(self.sa)
        self.proc = subprocess.Popen(
            [find_micropython(), "-i", str(self.setup)],
            stdin=sb,
            stdout=sb,
            stderr=sb,
            cwd=self.root,
        )
        os.close(sb)
        self.ready = threading.Event()
        self.stop = False
        self.thread = threading.Thread(target=self._pump, daemon=True)
        self.thread.start()
        assert self.ready.wait(10), "the VM printed no prompt"
        return self

    def _pump(self):
        seen = b""
        while not self.stop:
            r, _, _ = select.select([self.ma, self.mb], [], [], 0.05)
            for fd in r:
                try:
                    data = os.read(fd, 4096)
                except OSError:  # the VM ended
                    return
                if fd == self.mb and not self.ready.is_set():
                    seen += data
                    if b">>> " in seen:
                        self.ready.set()
                os.write(self.mb if fd == self.ma else self.ma, data)

    def __exit__(self, *exc):
        self.stop = True
        self.proc.kill()
        self.proc.wait(5)
        self.thread.join(5)
        for fd in (self.ma, self.sa, self.mb):
            os.close(fd)


def test_deploy_installs_an_image_on_a_micropython_over_a_pty_and_switches(tmp_path):
    board = tmp_path / "board"
    board.mkdir()
    (board / "settings.json").write_text('{"board": "pico"}')  # not deploy's to touch
    with PtyBoard(board, tmp_path / "setup.py") as vm:
        log = []
        done = deploy.deploy(vm.port, log=log.append, reset=False, out=tmp_path / "o1")
        assert done is not None
        slot, sent = done
        items = deploy.build(out=tmp_path / "ref", march="x64")
        assert slot == "a" and len(sent) == len(items)  # everything, the first time
        for dest, local, _ in items:
            rel = dest.lstrip("/")
            on_board = board / (rel if rel in deploy.AS_SOURCE else "img_a/" + rel)
            assert on_board.read_bytes() == local.read_bytes(), dest
        assert (board / "active").read_text() == "a"
        assert "deploy: linux on %s, mpy v6.3 (x64)" % vm.port in log
        assert "deploy: image a verified on the board and active" in log
        assert log[-1] == "deploy: not resetting (--no-reset)"

        proc = cli("--port", vm.port, "--no-reset")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "deploy: the board runs these files already (image a)" in proc.stdout

        src = tmp_path / "src"  # the repo's board files, one of them changed
        for rel in board_files(ROOT):
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ROOT / rel, src / rel)
        with open(src / "firmware" / "core" / "leds.py", "a") as f:
            f.write("\nDEPLOY_TEST = 1\n")
        done = deploy.deploy(vm.port, log=log.append, reset=False, root=src, out=tmp_path / "o3")
        assert done == ("b", ["/img_b/firmware/core/leds.mpy"])
        assert (board / "active").read_text() == "b a 0"

        proc = cli("--port", vm.port, "--no-reset", "--info")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        lines = proc.stdout.splitlines()
        assert re.fullmatch(
            r"deploy: image b \(running\): version \S+, boot check passed", lines[0]
        )
        assert lines[1].startswith("deploy: image a (previous): version ")
        assert vm.proc.poll() is None  # the VM was never reset
    assert (board / "settings.json").read_text() == '{"board": "pico"}'
    assert not (board / ".deploy_hold").exists()


def test_park_cannot_go_with_no_reset():
    proc = subprocess.run(
        [sys.executable, "-m", "tools.deploy", "--port", "/dev/null", "--park", "--no-reset"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr  # a usage error
    assert proc.stderr.strip().splitlines()[-1] == (
        "python -m tools.deploy: error: --park resets the board: it cannot go with --no-reset"
    )


def test_deploy_with_settings_installs_and_verifies_the_file(tmp_path):
    """deploy --help: --settings FILE installs FILE as /settings.json; verified like the rest."""
    board = tmp_path / "board"
    board.mkdir()
    good = tmp_path / "good.json"
    good.write_text('{"min_hold_s": 20, "btv_prealarm_input": 3}')
    with PtyBoard(board, tmp_path / "setup.py") as vm:
        cli = subprocess.run(
            [sys.executable, "-m", "tools.deploy", "--port", vm.port, "--no-reset"]
            + ["--settings", str(good)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
        )
        assert cli.returncode == 0, cli.stdout + cli.stderr
        assert "deploy: settings from %s" % good in cli.stdout
        assert "not resetting (--no-reset)" in cli.stdout.splitlines()[-1]
    assert (board / "settings.json").read_bytes() == good.read_bytes()
