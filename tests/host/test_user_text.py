"""What a user reads says what is, not how it came to be: no issue numbers, no log of attempts.

Read from the files a user sees (README, Makefile, docs/, the tools' --help and the settings'
help) and the code's comments, not from the code under test.
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ISSUE = re.compile(r"\bissue\s*#?\s*\d+", re.I)
# history: "(445 before)", "was tried", "no longer matched", "not built yet"
HISTORY = re.compile(
    r"\d\s+before\)|\bwas tried\b|\btried and\b|\bno longer match|not built yet",
    re.I,
)


def _user_files():
    files = [ROOT / "README.md", ROOT / "Makefile", ROOT / "boot.py", ROOT / "main.py"]
    files += sorted((ROOT / "docs").glob("*.md"))
    for d in ("firmware", "lib", "tools", "scenarios"):
        files += sorted(p for p in (ROOT / d).rglob("*") if p.suffix in (".py", ".json", ".md"))
    return files


def test_no_issue_numbers_or_history_in_what_a_user_reads():
    found = []
    for f in _user_files():
        for n, line in enumerate(f.read_text().splitlines(), 1):
            if ISSUE.search(line) or HISTORY.search(line):
                found.append("%s:%d: %s" % (f.relative_to(ROOT), n, line.strip()))
    assert found == []


TOOLS = {
    "tools.vebus": "tools.vebus.cli",
    "tools.mk3": "tools.mk3.__main__",
    "tools.sim": "tools.sim.__main__",
    "tools.bench": "tools.bench.__main__",
    "tools.fuzz": "tools.fuzz",
    "tools.deploy": "tools.deploy",
    "tools.settings_doc": "tools.settings_doc",
    "tools.mptest": "tools.mptest",
    "tools.mpycheck": "tools.mpycheck",
}


def _main(module, argv, capsys):
    """(exit status, stdout, stderr) of a tool's main(argv), argparse's SystemExit included."""
    import importlib

    try:
        rc = importlib.import_module(module).main(argv)
    except SystemExit as e:
        rc = e.code
    out, err = capsys.readouterr()
    return rc, out, err


def test_usage_lines_say_python_m_and_help_has_no_issue_numbers(capsys):
    for tool, module in TOOLS.items():
        rc, out, _ = _main(module, ["--help"], capsys)
        assert rc == 0 and out.startswith("usage: python -m %s " % tool), (tool, out[:80])
        assert not ISSUE.search(out), tool


def test_the_same_error_gives_the_same_exit_status_in_every_tool(capsys, tmp_path):
    """README, "Exit status": 2 for a usage error or bad input, 1 for a check that failed."""
    for tool, module in TOOLS.items():
        rc, _, err = _main(module, ["--no-such-option"], capsys)
        assert rc == 2 and "usage: python -m %s" % tool in err, (tool, rc, err)
    missing = str(tmp_path / "missing")
    bad_input = {
        "tools.vebus.cli": ["decode", missing],
        "tools.sim.__main__": ["run", missing, "--out", str(tmp_path / "o")],
        "tools.settings_doc": ["--validate", missing],
        "tools.mk3.__main__": ["--port", missing],
        "tools.fuzz": ["--count", "0"],
        "tools.bench.__main__": ["--only", "no-such-bench"],
    }
    for module, argv in bad_input.items():
        assert _main(module, argv, capsys)[0] == 2, module
    bad = tmp_path / "bad.json"
    bad.write_text('{"min_hold_s": 0}')  # out of range: the check fails
    assert _main("tools.settings_doc", ["--validate", str(bad)], capsys)[0] == 1
    readme = (ROOT / "README.md").read_text()
    assert "2 for a usage error or bad input" in readme and "1 when a check" in readme
