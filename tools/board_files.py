"""The files that go to the board: one list for the compile check, pyright and deploy."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOARD_DIRS = ("firmware", "lib")
BOARD_TOP = ("boot.py", "main.py", "startup.py")
# mip metadata, not code the board runs
NOT_DEPLOYED = ("manifest.py",)


def board_files(root=ROOT):
    """Paths (relative to root) of every .py that is deployed, sorted."""
    root = Path(root)
    files = [Path(f) for f in BOARD_TOP if (root / f).exists()]
    for d in BOARD_DIRS:
        files += sorted(
            p.relative_to(root)
            for p in (root / d).rglob("*.py")
            if p.name not in NOT_DEPLOYED and "__pycache__" not in p.parts
        )
    return files
