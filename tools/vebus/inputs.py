"""Input formats of `python -m tools.vebus decode`.

Hex text: any spacing and case, optional `0x` prefixes and commas; `#` starts a comment and `|` a
note, both to the end of the line (the vectors file's format). Binary: the bytes as captured.
Timestamped capture (what `sniff --save` writes): the MAGIC line, then records of
`<d H` (host time in seconds since the epoch, chunk length) followed by the chunk's bytes.
"""

import struct

MAGIC = b"VEBUS-CAPTURE 1\n"
RECORD = struct.Struct("<dH")


class InputError(Exception):
    """Bad input: the CLI prints it as one line and exits non-zero."""


def parse_hex_line(line, lineno=0):
    """Bytes of one line of hex text (comments and notes removed)."""
    text = line.split("#", 1)[0].split("|", 1)[0]
    text = text.replace(",", " ").replace("0x", " ").replace("0X", " ")
    digits = "".join(text.split())
    if len(digits) % 2:
        raise InputError("line %d: odd number of hex digits" % lineno)
    try:
        return bytes.fromhex(digits)
    except ValueError:
        bad = next((t for t in text.split() if not _is_hex(t)), text.strip())
        raise InputError("line %d: not hex: %r" % (lineno, bad[:20])) from None


def _is_hex(tok):
    return all(c in "0123456789abcdefABCDEF" for c in tok)


def hex_chunks(text):
    """(None, bytes) per non-empty line of hex text."""
    for n, line in enumerate(text.splitlines(), 1):
        data = parse_hex_line(line, n)
        if data:
            yield None, data


def write_record(f, t, data):
    """Append one timestamped chunk to an open capture file."""
    f.write(RECORD.pack(t, len(data)))
    f.write(data)


def capture_chunks(blob):
    """(time, bytes) per record of a timestamped capture (blob starts with MAGIC)."""
    i = len(MAGIC)
    while i < len(blob):
        if i + RECORD.size > len(blob):
            raise InputError("capture cut short at byte %d" % i)
        t, n = RECORD.unpack_from(blob, i)
        i += RECORD.size
        if i + n > len(blob):
            raise InputError("capture cut short at byte %d" % i)
        yield t, blob[i : i + n]
        i += n


def binary_chunks(blob):
    """A timestamped capture record by record, or plain binary bytes as one chunk."""
    if blob.startswith(MAGIC):
        yield from capture_chunks(blob)
    elif blob:
        yield None, blob


def read_file(path, binary):
    try:
        if path == "-":
            import sys

            return sys.stdin.buffer.read() if binary else sys.stdin.read()
        with open(path, "rb" if binary else "r") as f:
            return f.read()
    except OSError as e:
        raise InputError("cannot read %s: %s" % (path, e.strerror or e)) from None
    except UnicodeDecodeError:
        raise InputError("%s is not text: use --raw for a binary capture" % path) from None
