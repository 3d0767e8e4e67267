"""tools/deploy.py without a board: build, dry run, install on a folder board (what goes over USB,
what the board keeps when a deploy is refused), --info's lines, the one-line errors."""

import fcntl
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import machine  # the fake of tests/fakes
import pytest
from folderboard import FolderBoard, cli

import startup
from tools import deploy
from tools import deploy_board as bd
from tools.mptest import find_micropython

ROOT = Path(__file__).resolve().parents[2]


def test_dry_run_lists_every_board_file_and_the_mpy_total(tmp_path, capsys):
    items = deploy.build(out=tmp_path / "d")
    dests = [d for d, _, _ in items]
    assert "/boot.py" in dests and "/firmware/hw/rs485.mpy" in dests
    assert not [
        d for d in dests if d.endswith(".py") and d not in ("/boot.py", "/main.py", "/startup.py")
    ]
    total = deploy.dry_run(items)
    out = capsys.readouterr().out
    assert total == sum(s for d, _, s in items if d.endswith(".mpy")) and total > 0
    assert "total .mpy size %d bytes" % total in out
    for _, local, _ in items:  # every .mpy is a MicroPython v6 file
        if local.suffix == ".mpy":
            assert local.read_bytes()[:2] == b"M\x06"


def test_a_traceback_on_the_board_names_the_module_and_function(tmp_path):
    """Each .mpy carries its import name as its source name (the board interns that name for
    the module anyway; a path would be one more string in RAM per module)."""
    deploy.build(out=tmp_path / "d", march="x64")
    code = "from vebus import catalogue\ncatalogue.get(b'', 0x10)\n"
    proc = subprocess.run(
        [find_micropython(), "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ, MICROPYPATH=str(tmp_path / "d" / "lib")),
    )
    assert proc.returncode == 1 and "IndexError" in proc.stdout + proc.stderr
    assert 'File "vebus.catalogue", line 1, in get' in proc.stdout + proc.stderr
    assert [deploy.module_name(p) for p in ("lib/vebus/__init__.py", "firmware/hw/pins.py")] == [
        "vebus",
        "firmware.hw.pins",
    ]


def _install(board, items, version="1-a", mpy="6.3", **kw):
    return deploy.install(board, items, version, mpy, broot=str(board.root), **kw)


def _running(board):
    """(image, version) main.py's boot check starts on this board, or None (safe state)."""
    machine.reset_fakes()
    saved = list(sys.path)
    try:
        started = startup.start(str(board.root) + "/")
    finally:
        sys.path[:] = saved
    if started is None:
        return None
    m = startup.read_manifest("%s/img_%s/MANIFEST" % (board.root, started[0]))
    return started[0], m["version"] if m else None


def _changed_source(tmp_path):
    src = tmp_path / "src"
    for rel in deploy.board_files(deploy.ROOT):
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_bytes((deploy.ROOT / rel).read_bytes())
    with open(src / "firmware" / "core" / "leds.py", "a") as f:
        f.write("\nDEPLOY_TEST = 1\n")
    return src


def test_install_sends_only_what_changed_and_runs_the_new_image_on_trial(tmp_path):
    items = deploy.build(out=tmp_path / "a", march="x64")
    board = FolderBoard(tmp_path / "board")
    board.root.mkdir()
    (board.root / "settings.json").write_text("{}")
    (board.root / "firmware").mkdir()  # an older layout's files: gone after the switch
    (board.root / "firmware" / "old.py").write_text("x = 1\n")
    done = _install(board, items)
    assert done is not None
    slot, sent = done
    assert slot == "a" and len(sent) == len(items)  # everything, the first time
    assert _running(board) == ("a", "1-a") and (board.root / "active").read_text() == "a"
    assert not (board.root / "firmware").exists()
    assert (board.root / "settings.json").read_text() == "{}"  # not deploy's to touch
    for dest, local, _ in items:  # each file where main.py looks for it, byte for byte
        rel = dest.lstrip("/")
        on_board = board.root / (rel if rel in deploy.AS_SOURCE else "img_a/" + rel)
        assert on_board.read_bytes() == local.read_bytes()
    log = []
    assert _install(board, items, "2-a", log=log.append) is None
    assert log == ["deploy: the board runs these files already (image a); nothing to install"]

    changed = deploy.build(_changed_source(tmp_path), tmp_path / "b", march="x64")
    done = _install(board, changed, "3-b", log=log.append)
    assert done == ("b", ["/img_b/firmware/core/leds.mpy"])
    assert "%d copied on the board" % (len(items) - 4) in log[-2]  # 4: the 3 top files, leds
    assert (board.root / "active").read_text() == "b a 0"
    assert _running(board) == ("b", "3-b")
    assert (board.root / "active").read_text() == "b a 1"  # trial boot 1 counted
    lines = deploy.describe(bd.state(board, str(board.root)), startup.CAUSES)
    assert lines[0] == "image b (running): version 3-b, boot check passed"
    assert lines[1] == "image a (previous): version 1-a, boot check passed"
    assert lines[2].startswith("image b is on trial: 1 boot(s) so far")


def _old_board(tmp_path):
    items = deploy.build(out=tmp_path / "a", march="x64")
    board = FolderBoard(tmp_path / "board")
    board.root.mkdir()
    _install(board, items)
    return deploy.build(_changed_source(tmp_path), tmp_path / "b", march="x64")


def _refused(board, changed, message, **kw):
    """The deploy stops with `message` and the board still starts the image it had."""
    try:
        _install(board, changed, "3-b", **kw)
    except deploy.DeployError as e:
        assert re.fullmatch(message, str(e)), str(e)
    else:
        raise AssertionError("not refused")
    assert (board.root / "active").read_text() == "a"
    assert _running(board) == ("a", "1-a")


def test_a_full_filesystem_is_refused_before_anything_is_written(tmp_path):
    changed = _old_board(tmp_path)
    board = FolderBoard(tmp_path / "board", free_blocks=3)
    before = sorted(str(p) for p in board.root.rglob("*") if p.name != "events.log")
    _refused(
        board,
        changed,
        r"the board's filesystem is full: the new image needs \d+ KB, \d+ KB are free; "
        r"the running image stays",
    )
    assert sorted(str(p) for p in board.root.rglob("*") if p.name != "events.log") == before


def test_a_manifest_or_file_damaged_on_the_way_is_refused(tmp_path):
    changed = _old_board(tmp_path)
    board = FolderBoard(tmp_path / "board", damage="/img_b/MANIFEST")
    _refused(
        board,
        changed,
        r"verify failed on the board: manifest missing or damaged \(img_b/MANIFEST\); "
        r"the running image stays",
    )
    board = FolderBoard(tmp_path / "board", damage="/img_b/firmware/core/leds.mpy")
    _refused(
        board,
        changed,
        r"verify failed on the board: file missing or damaged \(img_b/firmware/core/leds.mpy\); "
        r"the running image stays",
    )


def test_an_image_for_another_mpy_version_is_refused_on_the_board(tmp_path):
    changed = _old_board(tmp_path)  # the unix port loads v6.3
    _refused(
        FolderBoard(tmp_path / "board"),
        changed,
        r"verify failed on the board: image built for another mpy version "
        r"\(mpy v5.0, this MicroPython loads v6.3\); the running image stays",
        mpy="5.0",
    )


def test_a_second_deploy_on_the_same_port_is_one_clear_line(tmp_path):
    port = str(tmp_path / "ttyFAKE")
    Path(port).write_text("")
    name = re.sub(r"[^A-Za-z0-9]+", "_", os.path.realpath(port))
    with open(Path(tempfile.gettempdir()) / ("bms-deploy%s.lock" % name), "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as the first deploy holds it
        for args in ((), ("--info",), ("--park",)):
            proc = cli("--port", port, *args)
            assert proc.returncode == 1 and "Traceback" not in proc.stderr
            assert proc.stderr.strip().splitlines() == [
                "deploy: another deploy is using %s: wait for it to end (the board keeps its "
                "image)" % port
            ]


def test_board_answers_are_parsed_and_mpy_versions_decoded():
    st = bd.parse_state(
        "P b a 2\nS 4096 100\nC top 0 0 \nC a 3 4 img_a/x.mpy\nnoise\n"
        "C b 0 9 7-abc\nF b x.mpy 12 345\nEND\n"
    )
    assert st["pointer"] == ("b", "a", 2) and st["free"] == 409600
    assert st["images"]["a"]["what"] == "img_a/x.mpy" and st["images"]["b"]["blocks"] == 9
    assert st["images"]["b"]["files"] == {"x.mpy": (12, 345)}
    assert deploy.decode_mpy(2822) == (6, 3, "x64")
    assert deploy.decode_mpy(6 | 3 << 8 | 4 << 10) == (6, 3, "armv6m")  # RP2040
    assert deploy.target_path("lib/vebus/frame.py") == "/lib/vebus/frame.mpy"
    assert deploy.target_path("main.py") == "/main.py"


def test_no_board_is_one_clear_line_and_exit_1():
    proc = cli("--port", "/dev/ttyNOPE-deploy-test")
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert lines == [
        "deploy: no board answers on /dev/ttyNOPE-deploy-test "
        "(plugged in? port held by another program?)"
    ]
    assert "Traceback" not in proc.stdout + proc.stderr
    proc = cli()
    assert proc.returncode == 2 and "--dry-run" in proc.stderr  # a usage error
    assert "Traceback" not in proc.stderr


def test_a_settings_file_is_checked_against_the_firmware_table_first(tmp_path):
    good = tmp_path / "good.json"
    good.write_text('{"vebus_mode": "bms", "board": "esp32"}')
    assert deploy.check_settings(good) == good.read_bytes()
    bad = tmp_path / "bad.json"
    bad.write_text('{"vebus_mode": "loud"}')
    proc = cli("--dry-run", "--settings", str(bad))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("deploy: %s: vebus_mode" % bad)
    bad.write_bytes(b'{"vebus_mode": "bms\xff"}')  # one byte that is not UTF-8
    proc = cli("--dry-run", "--settings", str(bad))
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.splitlines() == ["deploy: %s: not UTF-8 text" % bad]
    bad.write_text('{"vebus_mode": "loud", "min_hold_s": 0, "x": 1}')
    proc = cli("--dry-run", "--settings", str(bad))
    assert proc.stderr.splitlines() == [
        "deploy: %s: min_hold_s: 0 is out of range 1..3600 (2 more: python -m tools.settings_doc"
        " --validate %s)" % (bad, bad)
    ]
    bad.write_text('{"btv_loop_input": 5, "btv_loop_input": 4}')
    proc = cli("--dry-run", "--settings", str(bad))
    assert proc.stderr.splitlines() == ["deploy: %s: btv_loop_input: given twice" % bad]
    bad.write_text('{"btv_loop_input": 5}')  # a Pico has input 5, an ESP32 has not
    assert cli("--dry-run", "--settings", str(bad), "--board", "pico").returncode == 0
    proc = cli("--dry-run", "--settings", str(bad), "--board", "esp32")
    assert proc.returncode == 1 and proc.stderr.splitlines() == [
        "deploy: %s: btv_loop_input: no input 5: the esp32 board's BTV inputs are 0..3" % bad
    ]
    proc = cli("--dry-run", "--settings", str(tmp_path / "missing.json"))
    assert proc.returncode == 1 and "cannot read" in proc.stderr


def test_settings_are_checked_for_the_connected_boards_profile(tmp_path, monkeypatch):
    """An ESP32 answers: a file fine for a Pico (input 5) is refused before anything is copied."""
    f = tmp_path / "s.json"
    f.write_text('{"btv_loop_input": 5}')
    ver, sub = deploy.mpy_cross_version(deploy.find_tool("mpy-cross"))
    monkeypatch.setattr(deploy.bd.Board, "identify", lambda self: ("esp32", ver | sub << 8))
    monkeypatch.setattr(deploy, "build", lambda *a, **k: pytest.fail("built for a bad file"))
    with pytest.raises(deploy.DeployError) as e:
        deploy.deploy("/dev/null", log=lambda _: None, settings=f)
    assert str(e.value) == (
        "%s: btv_loop_input: no input 5: the esp32 board's BTV inputs are 0..3" % f
    )
