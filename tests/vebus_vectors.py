"""The real VE.Bus frames of tests/vectors.txt (tests/host/test_vebus_vectors_copy.py keeps it
equal to the project's master list where that is present). Loads on both VMs: `load()` -> (raw,
mk2) lists of (bytes, note).
"""

_HERE = __file__.rpartition("/")[0] or "."
PATH = _HERE + "/vectors.txt"


def parse_hex(text):
    """Hex bytes with any spacing; None if a token is not hex."""
    out = bytearray()
    for tok in text.split():
        if len(tok) % 2:
            return None
        for k in range(0, len(tok), 2):
            try:
                out.append(int(tok[k : k + 2], 16))
            except ValueError:
                return None
    return bytes(out)


def load(path=PATH):
    """(raw bus frames, MK2 frames): each a list of (bytes, note), in file order."""
    raw, mk2 = [], []
    section = raw
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("#"):
                if "MK2" in line:
                    section = mk2
                elif "Computed" in line or "Raw bus" in line:
                    section = raw
                continue
            if not line:
                continue
            hexpart, _, note = line.partition("|")
            data = parse_hex(hexpart)
            assert data is not None, line
            section.append((data, note.strip()))
    return raw, mk2
