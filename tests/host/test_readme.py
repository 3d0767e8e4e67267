"""README.md: what a new user needs first, and nothing it names is missing from a clone."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def _section(title):
    return README.split("## " + title, 1)[1].split("\n## ", 1)[0]


def test_the_two_commands_say_how_long_they_take_and_what_the_demo_shows():
    text = " ".join(_section("Two commands").split())
    for cmd in ("make demo", "make test"):
        assert re.search(r"`%s` \d+ min( \d+ s)?" % cmd, text), cmd
    assert "shared with other jobs" in text  # the timing's conditions
    assert "out/demo/timeline.png" in text and "out/demo/events.jsonl" in text
    assert "On the bench, start at [docs/bench-testing.md]" in text


def test_every_repo_path_the_readme_names_exists():
    named = set(re.findall(r"\]\(([\w./-]+)\)", README))  # markdown links
    named |= set(re.findall(r"`((?:docs|tools|tests|scenarios|firmware|lib)/[\w./-]*\w)`", README))
    named |= set(re.findall(r"\b((?:docs|scenarios|tests)/[\w/-]+\.(?:md|json|txt|py))\b", README))
    assert len(named) > 10
    missing = sorted(p for p in named if not (ROOT / p).exists())
    assert missing == []
