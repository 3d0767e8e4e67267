"""tests/vectors.txt is a copy of ../shared/vebus-vectors.txt (the VM tests read the copy)."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "vebus-vectors.txt"


def test_vectors_copy_matches_the_shared_file():
    if not SHARED.exists():
        pytest.skip("no %s here (only beside the main checkout and in CI)" % SHARED)
    assert (ROOT / "tests" / "vectors.txt").read_bytes() == SHARED.read_bytes()
