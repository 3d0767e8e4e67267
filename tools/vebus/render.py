"""Turn decoder events into records (dicts) and print them as readable lines or JSON lines.

Record keys (JSON): ok (complete and checksum valid), kind (sync, data, short, mk2, garbage),
frame_no (int or null), type (message type / MK2 command, int or null), payload (hex of the
de-stuffed payload; MK2: the bytes between len and cs), error (null or checksum, overlong,
truncated, garbage, short, stuffing), and besides: time (host seconds or null), src, name, tag
(confirmed / inferred), fields, raw (hex of the bytes received), note (the input line's `|` note
or null).
"""

import json
import time

import vebus
from vebus import catalogue
from vebus.describe import describe

SOURCES = {vebus.ADDR_MULTI: "Multi", vebus.ADDR_CONTROLLER: "controller"}


def src_name(addr):
    return SOURCES.get(addr, "0x%04X" % addr)


def frame_record(f, t=None):
    """Record of a verified VE.Bus frame (vebus.Frame)."""
    payload = bytes(f.payload)
    name, tag, fields = describe(f.is_sync(), payload, len(payload))
    return {
        "time": t,
        "ok": True,
        "kind": "sync" if f.is_sync() else "data",
        "src": src_name(f.addr),
        "frame_no": f.frame_no,
        "type": None if f.is_sync() else f.msg,
        "name": name,
        "tag": tag,
        "fields": dict(fields),
        "payload": payload.hex(),
        "raw": bytes(f.raw).hex(),
        "error": None,
        "note": None,
    }


def _destuff(b):
    out = bytearray()
    i = 0
    while i < len(b):
        if b[i] == 0xFA and i + 1 < len(b):
            out.append((b[i + 1] + 0x80) & 0xFF)
            i += 2
        else:
            out.append(b[i])
            i += 1
    return bytes(out)


def reject_record(reason_name, raw, t=None):
    """Record of rejected bytes; a frame-like start keeps its kind, N and type (best effort)."""
    raw = bytes(raw)
    rec = {
        "time": t,
        "ok": False,
        "kind": "garbage",
        "src": None,
        "frame_no": None,
        "type": None,
        "name": None,
        "tag": None,
        "fields": {},
        "payload": "",
        "raw": raw.hex(),
        "error": reason_name,
        "note": None,
    }
    if reason_name == "short":
        rec["kind"] = "short"
    elif len(raw) >= 5 and raw[2] in (vebus.T_SYNC, vebus.T_DATA) and raw[3] <= 0x7F:
        rec["kind"] = "sync" if raw[2] == vebus.T_SYNC else "data"
        rec["src"] = src_name(raw[0] << 8 | raw[1])
        rec["frame_no"] = raw[3]
        end = len(raw) - 2 if raw[-1] == 0xFF else len(raw)
        payload = _destuff(raw[4:end])
        rec["payload"] = payload.hex()
        if rec["kind"] == "data" and payload:
            rec["type"] = payload[0]
    return rec


def mk2_record(f, t=None):
    """Record of an MK2 frame (vebus.mk2.Mk2Frame)."""
    body = bytes(f.body)
    fields = []
    if f.probe >= 0:
        name, tag = ("bms_probe" if f.probe == 0x83 else "dmc_probe"), catalogue.CONFIRMED
    elif f.cmd >= 0:
        name, tag = "cmd %r" % chr(f.cmd) if 0x20 < f.cmd < 0x7F else "cmd 0x%02X" % f.cmd, None
    else:
        name, tag, fields = describe(False, body, len(body))
        if not name.startswith("bms_"):
            name, tag, fields = "vebus 0x%02X" % f.vtype, None, []
    return {
        "time": t,
        "ok": True,
        "kind": "mk2",
        "src": None,
        "frame_no": None,
        "type": f.cmd if f.cmd >= 0 else f.vtype,
        "name": name,
        "tag": tag,
        "fields": dict(fields),
        "payload": body.hex(),
        "raw": bytes(f.raw).hex(),
        "error": None,
        "note": None,
    }


def mk2_reject_record(reason_name, raw, t=None):
    rec = reject_record("x", raw, t)
    rec["kind"] = "garbage"
    rec["error"] = reason_name
    return rec


def _stamp(t):
    if t is None:
        return ""
    return time.strftime("%H:%M:%S", time.localtime(t)) + (".%03d " % int((t % 1) * 1000))


HEX_FIELDS = ("id", "code", "status", "leds_on", "leds_blink", "switch_register", "probed")
HEX_FIELDS += ("flags",)


def _field(k, v):
    if isinstance(v, int) and k in HEX_FIELDS:
        return "%s=0x%02X" % (k, v)
    return "%s=%s" % (k, v)


def text_line(rec):
    """One readable line: time, source, N, type name, fields, checksum status, `| note`."""
    line = _text(rec)
    return line + "  | " + rec["note"] if rec.get("note") else line


def _text(rec):
    t = _stamp(rec["time"])
    if not rec["ok"]:
        what = rec["kind"] if rec["kind"] != "garbage" else "bytes"
        n = " N=%02X" % rec["frame_no"] if rec["frame_no"] is not None else ""
        return "%sREJECT %s (%s)%s: %s" % (t, rec["error"], what, n, _spaced(rec["raw"]))
    if rec["kind"] == "mk2":
        tag = " [%s]" % rec["tag"] if rec["tag"] == catalogue.INFERRED else ""
        fields = "".join(" " + _field(k, v) for k, v in rec["fields"].items())
        return "%smk2 %-16s %s%s%s  ok" % (t, rec["name"], _spaced(rec["payload"]), fields, tag)
    fields = " ".join(_field(k, v) for k, v in rec["fields"].items() if v not in (None, ""))
    if rec["name"] == "unknown":
        fields = "type=0x%02X payload=%s" % (rec["type"], rec["payload"])
    tag = " [inferred]" if rec["tag"] == catalogue.INFERRED else ""
    return "%s%-10s N=%02X %-16s %s%s  checksum ok" % (
        t,
        rec["src"],
        rec["frame_no"],
        rec["name"],
        fields,
        tag,
    )


def json_line(rec):
    return json.dumps(rec)


def _spaced(hexstr):
    return " ".join(hexstr[i : i + 2] for i in range(0, len(hexstr), 2)).upper()
