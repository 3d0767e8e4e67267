"""A power cut at every file operation of a deploy, on the MicroPython unix port.

The deploy (tools/deploy.install) runs against a board's flash modelled as a folder
(tests/host/folderboard.py: its scripts on the unix port, each rename, remove, mkdir, write
counted). The board runs image "old"; the deploy brings "new" (leds.py and main.py changed, so
boot.py/main.py are switched too). For N at ten points of the staging (where /active is never
touched) and at every operation after it, the power goes off after the Nth operation, and
the board boots: main.py's boot check must start the old image, the new one, or stop in the safe
state (outputs floating, status LED at 15 Hz), never an image whose files do not match. Then the
same deploy, run again, must leave the new image running (the recovery docs/bench-testing.md
gives).
"""

import shutil
import sys

import machine  # the fake of tests/fakes
from folderboard import FolderBoard, PowerCut, copy_board

import startup
from tools import deploy
from tools.board_files import ROOT, board_files


def _source(tmp_path):
    """The repo's board files with leds.py and main.py changed (code: a comment changes no
    .mpy)."""
    src = tmp_path / "src"
    for rel in board_files(ROOT):
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / rel, src / rel)
    for rel in ("firmware/core/leds.py", "main.py"):
        with open(src / rel, "a") as f:
            f.write("\nDEPLOY_TEST = 1\n")
    return src


def _boot(board):
    """Power-up: main.py's boot check on the board's folder -> "old", "new" or "safe"."""
    machine.reset_fakes()
    saved = list(sys.path)
    try:
        started = startup.start(str(board) + "/")
    finally:
        sys.path[:] = saved
    if started is None:
        assert len(machine.timers) == 1 and machine.timers[0].period == 33
        return "safe"
    m = startup.read_manifest("%s/img_%s/MANIFEST" % (board, started[0]))
    assert m is not None
    return {"1-old": "old", "2-new": "new"}[m["version"]]


def test_a_power_cut_at_any_step_of_a_deploy_boots_old_new_or_safe(tmp_path):
    old = deploy.build(out=tmp_path / "old", march="x64")
    new = deploy.build(_source(tmp_path), tmp_path / "new", march="x64")
    before = tmp_path / "before"
    before.mkdir()
    deploy.install(FolderBoard(before), old, "1-old", "6.3", broot=str(before), work=tmp_path)
    assert _boot(before) == "old"

    whole = FolderBoard(copy_board(before, tmp_path / "whole"))
    deploy.install(whole, new, "2-new", "6.3", broot=str(whole.root), work=tmp_path)
    assert _boot(whole.root) == "new"
    total = whole.ops
    staged = whole.marks[1]  # state, stage (rm, mkdir, copies on the board), then put...
    cuts = list(range(0, staged, staged // 10 + 1)) + list(range(staged, total))
    seen = {"old": 0, "new": 0, "safe": 0}
    for n in cuts:
        board = FolderBoard(copy_board(before, tmp_path / "cut"), cut=n)
        try:
            deploy.install(board, new, "2-new", "6.3", broot=str(board.root), work=tmp_path)
        except PowerCut:
            pass
        else:
            raise AssertionError("no power cut at operation %d of %d" % (n, total))
        seen[_boot(board.root)] += 1
        if n % 4 == 0:  # the recovery: the same deploy again
            again = FolderBoard(board.root)
            deploy.install(again, new, "2-new", "6.3", broot=str(board.root), work=tmp_path)
            assert _boot(board.root) == "new", n
    print("power cut after %d of %d operations: boots %s" % (len(cuts), total, seen))
    assert seen["old"] > 0 and sum(seen.values()) == len(cuts)
    # the switch (top files renamed, then /active) is the last few operations: a cut between
    # main.py's rename and the top MANIFEST's is the one window that stops in the safe state
    assert seen["safe"] <= 2
