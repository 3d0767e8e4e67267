"""Input formats of `python -m tools.vebus decode`, read as streams (a capture of any size).

Hex text: any spacing and case, optional `0x` prefixes and commas; `#` starts a comment and `|` a
note, both to the end of the line (the vectors file's format). Each line is one input: a frame
does not continue on the next line, and the line's note goes with what it decodes to.
Binary: the bytes as captured. Timestamped capture (what `sniff --save` writes): the MAGIC line,
then records of `<d H` (host time in seconds since the epoch, chunk length) followed by the
chunk's bytes; a record of length 0 marks a read timeout that ended a partial frame (the line
went idle), so a replay cuts the frame where the live sniff did.
"""

import struct
import sys

MAGIC = b"VEBUS-CAPTURE 1\n"
RECORD = struct.Struct("<dH")
BLOCK = 1 << 16  # binary input is read in blocks of this size: memory stays flat


class InputError(Exception):
    """Bad input: the CLI prints it as one line and exits 2."""


def split_line(line):
    """(hex text, note) of one line: the comment dropped, the note after `|` stripped."""
    text, _, note = line.split("#", 1)[0].partition("|")
    return text, note.strip()


def parse_hex_line(line, lineno=0):
    """Bytes of one line of hex text (comments and notes removed)."""
    text = split_line(line)[0].replace(",", " ").replace("0x", " ").replace("0X", " ")
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


def hex_lines(f, name):
    """(bytes, note) per non-empty line of an open text file."""
    n = 0
    try:
        for n, line in enumerate(f, 1):
            data = parse_hex_line(line, n)
            if data:
                yield data, split_line(line)[1]
    except UnicodeDecodeError:
        raise InputError("%s line %d is not text: use --raw for binary" % (name, n + 1)) from None


def write_record(f, t, data):
    """Append one timestamped chunk (b"": the line went idle) to an open capture file."""
    f.write(RECORD.pack(t, len(data)))
    f.write(data)


def _read(f, n, name, at):
    data = f.read(n)
    if len(data) < n:
        raise InputError("%s: capture cut short at byte %d" % (name, at + len(data)))
    return data


def binary_chunks(f, name):
    """(time or None, bytes) of an open binary file: a capture record by record (b"": idle),
    plain bytes block by block (time None)."""
    head = f.read(len(MAGIC))
    if head != MAGIC:
        while head:
            yield None, head
            head = f.read(BLOCK)
        return
    at = len(MAGIC)
    while True:
        rec = f.read(RECORD.size)
        if not rec:
            return
        t, n = RECORD.unpack(rec + _read(f, RECORD.size - len(rec), name, at + len(rec)))
        at += RECORD.size
        yield t, _read(f, n, name, at)
        at += n


def open_input(path, binary):
    """An open file (stdin for "-"); InputError for one that cannot be opened."""
    if path == "-":
        return sys.stdin.buffer if binary else sys.stdin
    try:
        return open(path, "rb" if binary else "r")
    except OSError as e:
        raise InputError("cannot read %s: %s" % (path, e.strerror or e)) from None
