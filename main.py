# main.py: runs after boot.py (which already floated the outputs). The start (the boot check, the
# app's build, a deploy's hold) is startup.py's: imported, run, and on a board dropped with
# what only the start needs once the app is built, so that its code leaves the heap (this
# file's code stays while it runs: only what runs afterwards is here). A missing or damaged
# startup.py: outputs floating, one line, the REPL free for a new deploy. An image on trial is
# confirmed once it ran CONFIRM_MS. An unhandled exception while running: outputs floating, the
# event logged, a reset. Ctrl-C (a console, mpremote) floats the outputs and stops at the REPL.
import sys

EV_CRASH = 32  # firmware/app_texts.py has its words; repeated: a crash may come from the image
ON_BOARD = sys.platform in ("esp32", "rp2")


def boot_py(root):
    """boot.py's statements again (outputs floating, DE low), without the image. If boot.py
    itself is damaged, the pins stay as a reset left them: inputs with pull-down, outputs off."""
    try:
        with open(root + "boot.py") as f:
            exec(f.read(), {})
    except Exception:
        pass


def crash(exc, root="/"):
    """Outputs floating first, then the event on flash, then a reset."""
    try:
        from firmware.hw import safe

        safe.outputs_safe()
    except Exception:
        # firmware/hw itself is broken: boot.py's first lines float the outputs again (only
        # firmware/hw and boot.py touch `machine`). Without a reset the watchdog, if started,
        # resets; otherwise the REPL comes up with the outputs floating, never live.
        boot_py(root)
        raise exc from None
    try:
        from firmware.core.eventfile import EventFile

        EventFile(root + "events.log").append(0, EV_CRASH, 0, 0)
    except Exception:
        pass
    getattr(sys, "print_exception", lambda e: print(repr(e)))(exc)  # CPython (tests): repr
    safe.reset()


async def run(app, root, cur, prev, confirm_ms):
    """The app; an image on trial is confirmed once it ran confirm_ms."""
    import asyncio

    if prev is not None:
        asyncio.create_task(confirm(root, cur, confirm_ms))
    await app.run()


async def confirm(root, cur, confirm_ms):
    """/active names only this image now: written in one step, as startup.set_pointer does
    (its code has left the heap)."""
    import asyncio
    import os

    await asyncio.sleep_ms(confirm_ms)  # pyright: ignore[reportAttributeAccessIssue]
    with open(root + "active.new", "w") as f:
        f.write(cur)
    os.rename(root + "active.new", root + "active")
    print("main: image %s confirmed (ran %d s)" % (cur, confirm_ms // 1000))


def main(root="/", on_board=ON_BOARD):
    app = None
    try:
        try:
            import startup
        except Exception as e:  # missing or damaged: nothing of the image is trusted yet
            boot_py(root)
            print("main: startup.py missing or damaged (%r): outputs floating;" % e, end=" ")
            print("run tools/deploy.py to install the firmware")
            return
        started = startup.boot(root)
        if started is None:  # parked, or the safe state (its 15 Hz timer lives in startup)
            return
        app, cur, prev = started
        confirm_ms = startup.CONFIRM_MS
        if on_board:
            startup.let_go()
        del startup
        import asyncio

        asyncio.run(run(app, root, cur, prev, confirm_ms))
    except KeyboardInterrupt:
        if app is not None:
            app.stop()
        boot_py(root)
        print("main: stopped (outputs floating)")
        raise
    except Exception as e:
        crash(e, root)


if __name__ == "__main__":
    main()
