"""The board side of tools/deploy.py: the scripts it runs on the board, and the board itself.

Every script starts with startup.py's own source, run apart (its `__name__` is not "__main__", so
the firmware does not start): the check that verifies a staged image on the board is the very
check the board runs at boot, and the pointer is written by the function the board reads it with.
Each script prints its answer lines and "END"; `R` is the filesystem root ("." on a board:
relative paths, as the unix port's VfsPosix renames to "/x" wrongly; a folder when the tests run
the scripts on the unix port).

    state(board)                   {"pointer": ..., "free": bytes, "block": size, "images": ...}
    Board(port).exec(code) / put([(local, board path)]) / hold() / reset()
"""

import re
import subprocess
import time

from tools.board_files import ROOT

HOLD_FILE = "/.deploy_hold"
TOP_STAGE = (
    "img_top.new/"  # boot.py, main.py, startup.py and their MANIFEST wait here for the switch
)
SLOTS = ("a", "b")

# startup.py's functions in G; rm / mk / cp are the scripts' own file operations.
PRELUDE = """
import os
R = %r
G = {'__name__': 'deploy'}
exec(%r, G)
def rm(p):
    try:
        os.remove(R + p)
        return
    except OSError:
        pass
    try:
        names = [it[0] for it in os.ilistdir(R + p)]
    except OSError:
        return
    for n in names:
        rm(p + '/' + n)
    os.rmdir(R + p)
def mk(p):
    q = ''
    for part in p.strip('/').split('/'):
        q += '/' + part
        try:
            os.mkdir(R + q)
        except OSError:
            pass
def cp(a, b):
    buf = bytearray(1024)
    with open(R + a, 'rb') as s, open(R + b, 'wb') as d:
        while True:
            n = s.readinto(buf)
            if not n:
                break
            d.write(buf[:n])
"""

# The pointer, free space, and for the top files and each image: check result, version, files.
STATE = """
p = G['pointer'](R + '/')
print('P', ' '.join(str(x) for x in p) if p else '-')
bs, free = 4096, -1
try:
    st = os.statvfs(R or '/')
    bs, free = st[0], st[3]
except (AttributeError, OSError):
    pass
print('S', bs, free)
def used(p, bs):
    n = 0
    try:
        for it in os.ilistdir(R + p):
            q = p + '/' + it[0]
            n += used(q, bs) if it[1] == 0x4000 else os.stat(R + q)[6] // bs
    except OSError:
        pass
    return n
for name, d in (('top', ''),) + tuple((s, 'img_' + s + '/') for s in %r):
    cause, what = G['check'](R + '/', d)
    print('C', name, cause, used('/' + d.rstrip('/'), bs) if d else 0, what)
    m = G['read_manifest'](R + '/' + d + 'MANIFEST') if cause == 0 else None
    for f in m['files'] if m else ():
        print('F', name, f[0], f[1], f[2])
print('END')
"""

# Empty the staging folders, make the new image's folders, copy its unchanged files from the
# running image on the board itself (no USB transfer).
STAGE = """
slot, dirs, same, src = %r, %r, %r, %r
rm('/img_' + slot)
rm('/' + %r.rstrip('/'))
for d in dirs:
    mk(d)
for p in same:
    cp('/img_' + src + '/' + p, '/img_' + slot + '/' + p)
print('END')
"""

VERIFY = """
for d in %r:
    print('V', d, *G['check'](R + '/', d))
for p in %r:
    try:
        print('X', p, *G['crc32_file'](R + p, bytearray(512)))
    except OSError:
        print('X', p, -1, -1)
print('END')
"""

# The switch: the top files renamed into place (each rename atomic), then the pointer (one
# rename: the new image is active from here on), then what an older layout left behind.
ACTIVATE = """
top, cur, prev, tries, extra = %r, %r, %r, %r, %r
for f in top:
    os.rename(R + '/' + %r + f, R + '/' + f)
for a, b in extra:
    os.rename(R + a, R + b)
G['set_pointer'](R + '/', cur, prev, tries)
rm('/' + %r.rstrip('/'))
for old in ('/firmware', '/lib'):
    rm(old)
print('END')
"""


def script(body, root, *args):
    """A board script: the prelude (startup.py's source) and one body filled with args."""
    src = (ROOT / "startup.py").read_text()
    return PRELUDE % (root, src) + body % args


class DeployError(Exception):
    """One clear line for the user; tools.deploy.main prints it and exits non-zero."""


def answer(text, what):
    """The lines of a script's answer; a missing END is the board's error, in one line."""
    if "END" not in text:
        last = text.strip().splitlines()[-1] if text.strip() else "no answer"
        if "Errno 28" in text or "ENOSPC" in text:
            raise DeployError("the board's filesystem is full (%s)" % what)
        raise DeployError("the board failed to %s: %s" % (what, last))
    return [line.split(" ") for line in text.splitlines()]


def parse_state(text):
    """STATE's answer -> {"pointer": (cur, prev, tries) or None, "block", "free",
    "images": {name: {"cause", "blocks", "what", "files": {path: (size, crc)}}}}."""
    out = {"pointer": None, "block": 4096, "free": -1, "images": {}}
    for parts in answer(text, "report its images"):
        if parts[0] == "P" and parts[1] != "-":
            out["pointer"] = (parts[1], None if parts[2] == "None" else parts[2], int(parts[3]))
        elif parts[0] == "S":
            out["block"], out["free"] = int(parts[1]), int(parts[1]) * int(parts[2])
        elif parts[0] == "C":
            out["images"][parts[1]] = {
                "cause": int(parts[2]),
                "blocks": int(parts[3]),
                "what": " ".join(parts[4:]),
                "files": {},
            }
        elif parts[0] == "F":
            out["images"][parts[1]]["files"][parts[2]] = (int(parts[3]), int(parts[4]))
    return out


def state(board, root="."):
    return parse_state(board.exec(script(STATE, root, SLOTS)))


class Board:
    """The board behind one serial port, driven through the mpremote CLI."""

    def __init__(self, port, mpremote, resume=False):
        self.port = port
        self.mpremote = mpremote
        self.resume = ["resume"] if resume else []  # no soft reset on connecting

    def run(self, *args, timeout=60):
        cmd = [self.mpremote, "connect", self.port, *self.resume, *args]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise DeployError("no board answers on %s (timed out)" % self.port) from None
        out = proc.stdout + proc.stderr
        if proc.returncode != 0:
            if "failed to access" in out or "could not enter raw repl" in out or not out.strip():
                raise DeployError(
                    "no board answers on %s (plugged in? port held by another program?)"
                    % self.port
                )
            if "Errno 28" in out or "ENOSPC" in out:
                raise DeployError("the board's filesystem is full")
            raise DeployError("mpremote failed: %s" % out.strip().splitlines()[-1])
        return out

    def exec(self, code, timeout=120):
        return self.run("exec", code, timeout=timeout)

    def put(self, files):
        """Copy [(local file, board path)] in one mpremote session."""
        args = []
        for local, dest in files:
            args += ["fs", "cp", "-f", str(local), ":" + dest, "+"]
        if args:
            self.run(*args[:-1], timeout=300)

    def wait(self, seconds=10.0):
        """After a reset: retry until the board answers again (USB re-enumerates on a Pico)."""
        deadline = time.monotonic() + seconds
        while True:
            try:
                return self.exec("print('up')", timeout=10)
            except DeployError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def identify(self):
        out = self.exec("import sys; print('ID', sys.platform, sys.implementation._mpy)")
        m = re.search(r"ID (\S+) (\d+)", out)
        if not m:
            raise DeployError("unexpected answer from the board: %r" % out.strip())
        return m.group(1), int(m.group(2))

    def hold(self):
        code = "open(%r, 'w').close()\nimport machine\nmachine.reset()" % HOLD_FILE
        try:
            self.exec(code, timeout=15)
        except DeployError:
            pass  # the reset cuts the connection: expected
        time.sleep(1.0)
        self.wait()

    def reset(self):
        try:
            self.run("reset", timeout=15)
        except DeployError:
            pass
