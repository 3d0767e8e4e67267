"""VE.Bus frame codec: build data and sync frames into a caller's buffer; frame numbers.

Frame on the wire (docs/protocol.md, confirmed): `A0 A1 T N payload... CS FF`.
- A0 A1: 83 83 from a Multi, 98 F7 from an MK3 interface / controller.
- T: FD sync frame, FE data frame. N: frame number 0..127.
- Byte stuffing from index 4 on: a byte 0xFA..0xFF goes out as `FA, 0x70 | (b & 0x0F)`.
- CS = (1 - sum of the stuffed bytes from index 2) & 0xFF; a sync frame leaves its index-4 byte
  (the 0x55 mark) out. A CS of 0xFB..0xFF goes out as `FA, CS - 0xFA`; exactly 0xFA goes raw.
- A receiver checks sum(b[2] .. final FF) % 256 == 0 (minus b[4] for a sync frame).

Everything here writes into caller-owned storage and allocates nothing per call.
"""

from micropython import const

ADDR_MULTI = const(0x8383)  # A0 A1 of a Multi (confirmed)
ADDR_CONTROLLER = const(0x98F7)  # A0 A1 of an MK3 interface / controller (confirmed)
T_SYNC = const(0xFD)
T_DATA = const(0xFE)
END = const(0xFF)
ESC = const(0xFA)
SYNC_MARK = const(0x55)
NO_MASK = const(0x7F)
MIN_LEN = const(7)  # A0 A1 T N type CS FF


def next_frame_no(n):
    """The number a node puts on its data frame after a sync numbered n: (n + 1) & 0x7F."""
    return (n + 1) & NO_MASK


def max_encoded_len(plen):
    """Worst-case wire length of a frame with a plen-byte payload (every byte stuffed)."""
    return 2 * plen + 7


def encode(out, addr, t, frame_no, payload, plen=-1):
    """Write one frame into `out` (bytearray or memoryview) from index 0; return its length.

    addr: 16-bit address (ADDR_MULTI, ADDR_CONTROLLER); t: T_DATA or T_SYNC; payload: the
    de-stuffed bytes from index 4 (payload[0] is the message type; 0x55 for a sync frame), its
    first plen bytes are used (default: all). Raises IndexError if `out` is too small
    (max_encoded_len(plen) is always enough). Allocates nothing.
    """
    if plen < 0:
        plen = len(payload)
    frame_no &= NO_MASK
    out[0] = (addr >> 8) & 0xFF
    out[1] = addr & 0xFF
    out[2] = t
    out[3] = frame_no
    s = t + frame_no
    i = 4
    for k in range(plen):
        b = payload[k]
        if b >= ESC:
            b2 = 0x70 | (b & 0x0F)
            out[i] = ESC
            out[i + 1] = b2
            s += ESC + b2
            i += 2
        else:
            out[i] = b
            s += b
            i += 1
    if t == T_SYNC and plen:
        s -= out[4]
    cs = (1 - s) & 0xFF
    if cs > ESC:
        out[i] = ESC
        out[i + 1] = cs - ESC
        i += 2
    else:
        out[i] = cs
        i += 1
    out[i] = END
    return i + 1


def encode_data(out, addr, frame_no, payload, plen=-1):
    """A data frame (T = FE); see encode()."""
    return encode(out, addr, T_DATA, frame_no, payload, plen)


def encode_sync(out, frame_no, payload, plen=-1):
    """A sync frame from a Multi (83 83 FD N ...); payload starts with the 0x55 mark."""
    return encode(out, ADDR_MULTI, T_SYNC, frame_no, payload, plen)


def frame_sum_ok(buf, n):
    """True if buf[0:n] (a whole frame, FF last) passes the receiver's checksum rule."""
    if n < MIN_LEN:
        return False
    s = 0
    for k in range(2, n):
        s += buf[k]
    if buf[2] == T_SYNC:
        s -= buf[4]
    return (s & 0xFF) == 0
