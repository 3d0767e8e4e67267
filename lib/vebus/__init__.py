"""vebus: the VE.Bus protocol stack. Sans-IO, no BMS logic, CPython and MicroPython.

Facts and sources: docs/protocol.md (what is confirmed by public captures and what is inferred).
No heap allocation per frame in steady state: callers own the buffers, the decoder reuses its own.

Frame codec (vebus.frame, re-exported here)
    ADDR_MULTI (0x8383), ADDR_CONTROLLER (0x98F7), T_SYNC (0xFD), T_DATA (0xFE), SYNC_MARK (0x55)
    encode(out, addr, t, frame_no, payload, plen=-1) -> length written into out[0:length]
    encode_data(out, addr, frame_no, payload, plen=-1) -> length        (T = FE)
    encode_sync(out, frame_no, payload, plen=-1) -> length   (83 83 FD N; payload = 55 xx tL tH)
        payload is the de-stuffed message (payload[0] = message type); stuffing, the checksum
        (sync frames leave their 0x55 out; 0xFB..0xFF escaped as FA k; 0xFA raw) and the final FF
        are added. max_encoded_len(plen) bytes are always enough.
    frame_sum_ok(buf, n) -> bool            receiver's checksum rule on a whole frame buf[0:n]
    next_frame_no(n) -> (n + 1) & 0x7F      the N a node sends after the sync numbered n

Stream decoder (vebus.decoder, re-exported here)
    dec = Decoder(on_frame=None, on_reject=None, maxlen=80, strict=True)
    dec.feed(data, start=0, end=-1)         any chunk size; frames may be split anywhere
        on_frame(frame) for each verified frame; frame is one reused Frame object:
            frame.addr, frame.t, frame.frame_no, frame.msg (= payload[0]),
            frame.payload (memoryview, exact de-stuffed payload), frame.raw (memoryview, A0..FF)
            frame.is_sync()
        on_reject(reason, raw_view) for each reject; reason is one of
            CHECKSUM, OVERLONG, TRUNCATED, GARBAGE, SHORT (`00 FB x y FF`), STUFFING;
            REASONS[reason] is its name ("checksum", ...).
        Views are valid only inside the callback: copy what you keep.
    dec.skip(msg)                           frames of that message type: counted, not handed out
    dec.expect(plen)                        make the views for frames of that payload length now
        (the first such frame is handed out as fast as every later one: e.g. the sync, SYNC_LEN)
    dec.counts[reason] (counts[OK] = good frames), dec.rejects(), dec.last_sync (-1 = none),
    dec.pending(), dec.reset(), dec.flush() (end of input / bus silence: a held partial frame
    becomes a TRUNCATED reject). Memory is bounded by maxlen whatever the input.
    strict=False also accepts frames from unknown addresses (sniffing).
    The per-byte loops run as viper native code where the port has the emitter
    (vebus.decoder.NATIVE); elsewhere the same source runs as bytecode.
    Note for callers on MicroPython: a closure with more than 5 free variables allocates on
    every call; keep per-frame callbacks to bound methods or small closures.

Message catalogue (vebus.catalogue): the numbers of sync, 0x00 Winmon command/response, 0x3F
    switch, 0x41 LED, 0x80 charger/inverter condition, 0xE4 AC phase info, and the BMS's own frames
    (probe answer, status) -- every message tagged CONFIRMED (with its source) or INFERRED -- and
    the builders and readers a board uses. A field is one int (payload offset << 4 | kind):
    catalogue.get(p, cat.LED_ON).
vebus.peers: the frames a Multi and a GX send and readers of the BMS's own, from the catalogue's
    numbers, for simulators and tests (not imported on a board).
vebus.describe: the words (message names, tags and sources: MESSAGES, SOURCES; field names and
    units; Winmon code names), not imported on a board, so they take no RAM there;
    describe(is_sync, payload, plen) -> (name, tag, [(field, value)]) for host tools and logs.
MK2 serial framing (vebus.mk2): `len FF cmd data cs` and VE.Bus data frames, the BMS/DMC probes.

Typical use on a board (the receive buffer and the callbacks are made once):

    from vebus import Decoder, encode_data, next_frame_no, ADDR_CONTROLLER

    def on_frame(f):
        if f.is_sync():
            ...  # our slot: encode_data(txbuf, ADDR_CONTROLLER, next_frame_no(f.frame_no), msg)

    dec = Decoder(on_frame)
    n = uart.readinto(rxbuf)
    if n:
        dec.feed(rxbuf, 0, n)
"""

from vebus.decoder import (
    CHECKSUM,
    GARBAGE,
    MAXLEN,
    OK,
    OVERLONG,
    REASONS,
    SHORT,
    STUFFING,
    TRUNCATED,
    Decoder,
    Frame,
)
from vebus.frame import (
    ADDR_CONTROLLER,
    ADDR_MULTI,
    SYNC_MARK,
    T_DATA,
    T_SYNC,
    encode,
    encode_data,
    encode_sync,
    frame_sum_ok,
    max_encoded_len,
    next_frame_no,
)

__version__ = "0.1.0"

__all__ = [
    "ADDR_CONTROLLER",
    "ADDR_MULTI",
    "CHECKSUM",
    "GARBAGE",
    "MAXLEN",
    "OK",
    "OVERLONG",
    "REASONS",
    "SHORT",
    "STUFFING",
    "SYNC_MARK",
    "TRUNCATED",
    "T_DATA",
    "T_SYNC",
    "Decoder",
    "Frame",
    "encode",
    "encode_data",
    "encode_sync",
    "frame_sum_ok",
    "max_encoded_len",
    "next_frame_no",
]
