"""Settings of the firmware: write docs/settings.md from the one table, or check a settings file.

    python -m tools.settings_doc                 # print the Markdown table
    python -m tools.settings_doc --write         # (re)write docs/settings.md
    python -m tools.settings_doc --check         # exit 1 if docs/settings.md is out of date
    python -m tools.settings_doc --validate F    # check a settings JSON file: one line per refusal

The table itself is firmware/core/settings.py SPEC (defaults, types, ranges); the help texts are
firmware/core/settings_help.py HELP.
"""

import argparse
import json
import sys
from pathlib import Path

from firmware.core import settings as st
from firmware.core.settings_help import HELP

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "settings.md"

HEADER = """# Settings

Generated from `firmware/core/settings.py` (`SPEC`) and `firmware/core/settings_help.py`
(`HELP`) by `python -m tools.settings_doc --write`; do not edit by hand. The board reads
`/settings.json` (only keys that differ from the default need to be there). A refused value
(unknown key, wrong type, out of range, two BTV signals on one input) is reported with its reason
and the old value is kept. A damaged file (not UTF-8 text, not JSON) gives every setting its
default; either way the board runs and its event log says so. Saving writes `settings.json.tmp`
and renames it over the old file, so a power cut leaves the old or the new file.

Check a file before copying it to a board: `python -m tools.settings_doc --validate settings.json`.

| key | type | default | range | meaning |
|---|---|---|---|---|
"""


def render():
    rows = []
    for key, kind, default, lo, hi in st.SPEC:
        text = HELP[key]
        if kind == "int":
            rng = "%d..%d" % (lo, hi)
        elif kind == "bool":
            rng = "true, false"
            kind = "bool"
        else:
            rng = ", ".join(kind.split("|"))
            kind = "choice"
        rows.append("| `%s` | %s | `%s` | %s | %s |" % (key, kind, json.dumps(default), rng, text))
    return HEADER + "\n".join(rows) + "\n"


def check_file(path):
    """(the file's JSON value, [one line per problem]) as the board would read the file; the
    value is None when the file itself is damaged. OSError if it cannot be read."""
    data, why = st.parse(Path(path).read_bytes())
    if why:
        return None, [why]
    return data, st.Settings().update(data)


def validate(path):
    try:
        data, errors = check_file(path)
    except OSError as e:
        print("settings_doc: cannot read %s: %s" % (path, e.strerror))
        return 2
    for line in errors:
        print("%s: %s" % (path, line))
    if not errors:
        print("%s: %d settings, all valid" % (path, len(data or ())))
    return 1 if errors else 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--write", action="store_true", help="write docs/settings.md")
    g.add_argument("--check", action="store_true", help="fail if docs/settings.md is stale")
    g.add_argument("--validate", metavar="FILE", help="check a settings JSON file")
    args = ap.parse_args(argv)
    if args.validate:
        return validate(args.validate)
    doc = render()
    if args.write:
        DOC.parent.mkdir(exist_ok=True)
        DOC.write_text(doc)
        print("settings_doc: wrote %s (%d settings)" % (DOC.relative_to(ROOT), len(st.SPEC)))
        return 0
    if args.check:
        if not DOC.exists() or DOC.read_text() != doc:
            print(
                "settings_doc: docs/settings.md is out of date: run python -m tools.settings_doc"
                " --write"
            )
            return 1
        return 0
    sys.stdout.write(doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
