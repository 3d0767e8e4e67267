# main.py: runs after boot.py (which already floated the outputs). Builds the board from the
# settings and runs the app. An unhandled exception: outputs floating, the event logged, a reset;
# never a silent REPL with outputs live. Ctrl-C (a console, mpremote) floats the outputs and
# stops at the REPL (a watchdog already started resets the board within wdt_ms). A file
# /.deploy_hold (written by tools/deploy.py) is consumed and parks the firmware for a copy:
# outputs floating, no app, no watchdog.
import sys

HOLD_FILE = ".deploy_hold"
EV_CRASH = 32  # firmware.app.EV_CRASH (repeated: the crash path must not depend on the app)


def build(root="/", ticks_ms=None, settings=None):
    """The App for this board: settings from root/settings.json (defaults if missing or bad)."""
    import gc
    import os
    import time

    from firmware.app import EV_SETTINGS, EV_SETTINGS_MISSING, App
    from firmware.core import settings as st
    from firmware.hw.board import Board, platform_board_name

    errors = ()
    missing = False
    if settings is None:
        path = root + "settings.json"
        try:
            os.stat(path)
        except OSError:
            missing = True
        settings, errors = st.load(path, platform_board_name())  # this board's profile
        for e in errors:
            print("settings:", e)
    # The imports and the settings file leave garbage all over the heap: collected now, the
    # app's long-lived objects fill it from the bottom instead of settling between the holes
    # (tools/bench/bench_board.py's run with these imports inside build: least heap 10 KB less).
    gc.collect()
    board = Board.from_settings(settings)
    app = App(board, settings, ticks_ms or time.ticks_ms, root)
    # Into the event log too: "why are my settings ignored" must be readable after the fact.
    if errors:
        app.log.record(app.ticks(), EV_SETTINGS, 0, len(errors))
    elif missing:
        app.log.record(app.ticks(), EV_SETTINGS_MISSING, 0, 0)
    return app


def held(root="/"):
    """True (and the file removed) if tools/deploy.py asked to park the firmware."""
    import os

    try:
        os.remove(root + HOLD_FILE)
    except OSError:
        return False
    return True


def crash(exc, root="/"):
    """Outputs floating first, then the event on flash, then a reset."""
    try:
        from firmware.hw import safe

        safe.outputs_safe()
    except Exception:
        # firmware/hw itself is broken: boot.py's first lines float the outputs again (only
        # firmware/hw and boot.py touch `machine`). Without a reset the watchdog, if started,
        # resets; otherwise the REPL comes up with the outputs floating, never live.
        with open(root + "boot.py") as f:
            exec(f.read(), {})
        raise exc from None
    try:
        from firmware.core.eventfile import EventFile

        EventFile(root + "events.log").append(0, EV_CRASH, 0, 0)
    except Exception:
        pass
    try:
        sys.print_exception(exc)  # pyright: ignore[reportAttributeAccessIssue]
    except Exception:
        pass
    safe.reset()


def main(root="/"):
    try:
        if held(root):
            from firmware.hw import safe

            safe.outputs_safe()
            print("main: parked for deploy (outputs floating, no app, no watchdog)")
            return
        import asyncio

        app = build(root)
        asyncio.run(app.run())
    except KeyboardInterrupt:
        from firmware.hw import safe

        safe.outputs_safe()
        print("main: stopped (outputs floating)")
        raise
    except Exception as e:
        crash(e, root)


if __name__ == "__main__":
    main()
