"""timeline.png: every signal of a run on one time axis (matplotlib, Agg backend, no display).

Panels, top to bottom: lowest/highest cell voltage with the BTV thresholds; temperature and battery
current; the three outputs; the three LEDs; the Multi's mode and charge; the GX's flags and
the bus. Under the title: which device sits on which of the BMS's two VE.Bus ports.
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from tools.sim import battery  # noqa: E402

MODES = ("off", "low_power", "emergency", "inverter_only", "charger_only", "on")
CHARGE = ("zero", "reduced", "full")


def _steps(tl, signal, end, fn=None):
    """x, y arrays for a step plot of one signal up to `end` (last value held)."""
    xs, ys = [], []
    for t, v in tl.series(signal):
        xs.append(t)
        ys.append(fn(v) if fn else v)
    if xs:
        xs.append(end)
        ys.append(ys[-1])
    return xs, ys


def _scale(duration):
    if duration >= 3 * 3600:
        return 3600.0, "time (h)"
    if duration >= 180:
        return 60.0, "time (min)"
    return 1.0, "time (s)"


def ports_line(ports):
    """ "MultiPlus/Quattro port: Multi, GX | Remote panel port: DMC" (the port names of the
    manual; a GX's flags are what it hears on its port)."""
    if not ports:
        return ""
    return "MultiPlus/Quattro port: %s  |  Remote panel port: %s" % (
        ", ".join(ports.get("multi", [])) or "-",
        ", ".join(ports.get("panel", [])) or "-",
    )


def gx_port(ports):
    for seg in ("multi", "panel"):
        if "GX" in (ports or {}).get(seg, []):
            return " (%s port)" % ("Multi" if seg == "multi" else "panel")
    return ""


def render(tl, duration, path, title="", ports=None):
    div, xlabel = _scale(duration)
    end = duration

    def xy(signal, fn=None):
        xs, ys = _steps(tl, signal, end, fn)
        return [x / div for x in xs], ys

    fig, axes = plt.subplots(
        6, 1, figsize=(12, 13), sharex=True, gridspec_kw={"height_ratios": [3, 2, 2, 1.6, 2, 2]}
    )
    ax = axes[0]
    for sig, color, label in (
        ("cell_min_v", "tab:blue", "lowest cell"),
        ("cell_max_v", "tab:red", "highest cell"),
    ):
        x, y = xy(sig)
        ax.step(x, y, where="post", color=color, label=label)
    for v, name, color in (
        (battery.HIGH_CELL_V, "high cell 3.75 V", "tab:red"),
        (battery.HIGH_CELL_CLEAR_V, "clears 3.6 V", "tab:pink"),
        (battery.PREALARM_V, "pre-alarm 3.1 V", "tab:orange"),
        (battery.LOW_CELL_V, "low cell 2.8 V", "tab:purple"),
    ):
        ax.axhline(v, color=color, lw=0.7, ls="--", label=name)
    ax.set_ylabel("cell V")
    ax.legend(loc="upper left", fontsize=7, ncol=3)
    ax.grid(alpha=0.3)

    ax = axes[1]
    x, y = xy("battery_a")
    ax.step(x, y, where="post", color="tab:green", label="battery A (+ charge)")
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_ylabel("battery A")
    ax2 = ax.twinx()
    x, y = xy("temp_c")
    ax2.step(x, y, where="post", color="tab:brown", label="temperature")
    ax2.set_ylabel("temp C")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, loc="upper left", fontsize=7)
    ax.grid(alpha=0.3)

    def lanes(ax, items, ylabel):
        ticks = []
        for i, (sig, label, on_value) in enumerate(items):
            base = 1.5 * (len(items) - 1 - i)
            x, y = xy(sig, lambda v, on=on_value: 1 if v in on else 0)
            ax.fill_between(x, [base] * len(y), [base + yy for yy in y], step="post", alpha=0.6)
            ax.step(x, [base + yy for yy in y], where="post", color="black", lw=0.6)
            ticks.append((base + 0.5, label))
        ax.set_yticks([t for t, _ in ticks])
        ax.set_yticklabels([lbl for _, lbl in ticks], fontsize=8)
        ax.set_ylabel(ylabel)
        ax.set_ylim(-0.3, 1.5 * len(items))

    lanes(
        axes[2],
        (
            ("load_disconnect", "load disconnect high", ("high",)),
            ("charge_disconnect", "charge disconnect high", ("high",)),
            ("pre_alarm", "pre-alarm high", ("high",)),
        ),
        "outputs",
    )
    lanes(
        axes[3],
        (
            ("led_status", "status (flashing)", ("heartbeat", "listen", "bootloader")),
            ("led_cell_ok", "cell > 2.8 V", ("on",)),
            ("led_high_cell", "cell > 4 V (red)", ("on",)),
        ),
        "LEDs",
    )

    ax = axes[4]
    x, y = xy("multi_mode", lambda v: MODES.index(v) if v in MODES else 0)
    ax.step(x, y, where="post", color="tab:blue", label="Multi mode")
    x, y = xy("multi_charge", lambda v: CHARGE.index(v) if v in CHARGE else 0)
    ax.step(x, [-4 + v for v in y], where="post", color="tab:green", label="Multi charge")
    x, y = xy("multi_error", lambda v: 0 if v is None else 1)
    if any(y):
        ax.fill_between(
            x,
            -4.3,
            [-4.3 + 9.6 * v for v in y],
            step="post",
            color="red",
            alpha=0.15,
            label="VE.Bus error",
        )
    ax.axhline(-0.5, color="grey", lw=0.5)
    ax.set_yticks(list(range(len(MODES))) + [-4, -3, -2])
    ax.set_yticklabels(list(MODES) + ["charge zero", "charge reduced", "charge full"], fontsize=8)
    ax.set_ylim(-4.5, len(MODES) - 0.5)
    ax.set_ylabel("Multi")
    ax.grid(alpha=0.3)

    lanes(
        axes[5],
        (
            ("gx_allow_to_charge", "GX AllowToCharge", (1,)),
            ("gx_allow_to_discharge", "GX AllowToDischarge", (1,)),
            ("gx_prealarm", "GX PreAlarm", (1,)),
            ("bus", "bus ok", ("ok",)),
            ("ac_in", "AC in", (True,)),
        ),
        "GX%s / bus" % gx_port(ports),
    )
    axes[5].set_xlabel(xlabel)
    axes[5].set_xlim(0, end / div)
    line = ports_line(ports)
    fig.suptitle((title or "simulation") + ("\n" + line if line else ""), fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
