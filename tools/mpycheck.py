"""Compile every board file with mpy-cross: catches syntax MicroPython rejects before a board does.

python -m tools.mpycheck [--root DIR]
"""

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from tools.board_files import ROOT, board_files


def compile_file(src, out, mpy_cross="mpy-cross", extra=()):
    """Run mpy-cross; return (ok, message)."""
    cmd = [mpy_cross, *extra, "-o", str(out), str(src)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True)
    except FileNotFoundError:
        sys.exit("mpycheck: no `mpy-cross` binary: run `make setup`")
    return proc.returncode == 0, (proc.stdout + proc.stderr).strip()


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="python -m tools.mpycheck", description=(__doc__ or "").split("\n")[0]
    )
    ap.add_argument("--root", default=str(ROOT), help="tree to check (default: this repo)")
    args = ap.parse_args(argv)
    root = Path(args.root)
    mpy_cross = str(Path(sys.executable).parent / "mpy-cross")
    if not Path(mpy_cross).exists():
        mpy_cross = "mpy-cross"
    files = board_files(root)
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i, rel in enumerate(files):
            ok, msg = compile_file(root / rel, Path(tmp) / ("%d.mpy" % i), mpy_cross)
            if not ok:
                bad += 1
                print("mpy-cross rejects %s:\n  %s" % (rel, msg.replace("\n", "\n  ")))
    print("mpycheck: %d board files compiled, %d rejected" % (len(files) - bad, bad))
    return 1 if bad or not files else 0


if __name__ == "__main__":
    sys.exit(main())
