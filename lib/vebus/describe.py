"""Name a payload's message and its fields from the catalogue: for host tools and logs only
(it allocates a list per call; the firmware reads fields with catalogue.get)."""

from vebus.catalogue import (
    INFERRED,
    MESSAGES,
    MSG_INFO,
    MSG_PROBE,
    MSG_SWITCH,
    MSG_WINMON,
    STATUS_FIELDS,
    SWITCH_NAMES,
    answer_version,
    get,
    is_bms_status,
    probe_kind,
    winmon_name,
)


def _fits(field, plen):
    need = (1, 2, 2, 2, 1, 4)[field[2]]
    return field[1] + need <= plen


def describe(is_sync, p, plen):
    """(name, tag, [(field, value), ...]) of payload p[0:plen]. Allocates: host tools and logs."""
    if is_sync:
        entry = MESSAGES[0]
    else:
        msg = p[0] if plen else -1
        if msg == MSG_PROBE and probe_kind(p, plen) >= 0:
            return "bms_probe", INFERRED, [("probed", p[5])]
        if msg == MSG_INFO and answer_version(p, plen) >= 0:
            return "bms_probe_answer", INFERRED, [("version", answer_version(p, plen))]
        if msg == MSG_INFO and is_bms_status(p, plen):
            return "bms_status", INFERRED, [(f[0], get(p, f)) for f in STATUS_FIELDS]
        if msg == MSG_INFO:  # info frames: seen on the bus, layout not decoded
            return "info", None, []
        entry = None
        for e in MESSAGES[1:]:
            if e[0] == msg and entry is None:
                entry = e
        if entry is None:
            return "unknown", None, []
    out = [(f[0], get(p, f)) for f in entry[4] if _fits(f, plen)]
    if entry[0] == MSG_WINMON and plen >= 3:
        out.append(("name", winmon_name(p[2])))
        out.append(("args", bytes(p[3:plen]).hex()))
    if entry[0] == MSG_SWITCH and plen >= 2:
        for code, name in SWITCH_NAMES:
            if code == p[1]:
                out.append(("name", name))
    return entry[1], entry[2], out
