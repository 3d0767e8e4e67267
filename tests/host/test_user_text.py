"""What a user reads says what is, not how it came to be: no issue numbers, no log of attempts.

Read from the files a user sees (README, Makefile, docs/, the tools' --help and the settings'
help) and the code's comments, not from the code under test.
"""

import re
import subprocess
import sys
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


def test_no_issue_numbers_in_the_tools_help():
    for tool in ("tools.sim", "tools.settings_doc", "tools.vebus", "tools.mk3", "tools.deploy"):
        p = subprocess.run(
            [sys.executable, "-m", tool, "--help"], cwd=ROOT, capture_output=True, text=True
        )
        assert p.returncode == 0, (tool, p.stderr)
        assert not ISSUE.search(p.stdout), (tool, p.stdout)
