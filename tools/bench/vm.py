"""Run a measuring script on the MicroPython unix port and read back its JSON line."""

import json
import subprocess

from tools.mptest import ROOT, find_micropython, vm_env


def run_vm_script(code, heapsize="192k", timeout=600):
    """Run `code` on the VM with the board's import path; it must print one JSON object last."""
    proc = subprocess.run(
        [find_micropython(), "-X", "heapsize=" + heapsize, "-c", code],
        capture_output=True,
        text=True,
        env=vm_env(),
        cwd=ROOT,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError("VM benchmark failed:\n" + proc.stdout + proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])
