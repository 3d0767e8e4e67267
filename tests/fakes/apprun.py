"""Run the whole app on the MicroPython unix port in virtual time; print one JSON line.

    micropython -X heapsize=N tests/fakes/apprun.py MODE [MINUTES] [ROOT]

MODE "imports": import every module the app needs and print the heap they take.
MODE "run": the app (vebus_mode "bms") against a scripted Multi for MINUTES simulated minutes
(syncs every 20 ms, AC info and LED frames, version replies); the battery goes through low cell
and back once a minute so outputs, switch frames and the event log keep moving. Prints the heap
figures (gc.mem_alloc after a collection, sampled every simulated second), the bus figures and
the outputs' state. Used by tests/host/test_app_heap.py and tools/bench/bench_board.py.
MODE "boot": the same run, but the firmware's modules are imported inside startup.build, as when
main.py boots a board (run: imported beforehand, so that the app's own heap is measured apart).
"""

import gc
import json
import os
import sys

KEEP = 4  # BMS frames the scripted Multi keeps (counters cover the rest)
HARNESS = ("asyncio", "machine", "vclock", "multi", "startup")
MODULES = HARNESS + (
    "firmware.app",
    "firmware.hw.board",
    "firmware.hw.board_pico",
    "firmware.core.settings",
)


def prepare(root, modules=MODULES):
    """Everything but the app: modules, settings, the virtual clock, the battery's inputs."""
    for m in modules:
        __import__(m)
    import machine
    import vclock

    from firmware.core.settings import Settings

    try:
        os.mkdir(root)
    except OSError:
        pass
    for f in os.listdir(root):
        os.remove(root + "/" + f)
    machine.reset_fakes()
    clock = vclock.VClock()
    vclock.install(clock)
    for p in (16, 17, 18):
        machine.Pin(p).external = 1
    machine.Pin(11).external = 1
    s = Settings()
    s.set("vebus_mode", "bms")
    s.set("panel_port", False)  # the one-port app: the scripted Multi is all there is on the bus
    return clock, s


def imports(root):
    """Heap taken by everything that is not the app: modules' code, settings, the harness."""
    gc.collect()
    before = gc.mem_alloc()
    clock, s = prepare(root)
    import machine
    from multi import ScriptedMulti

    harness = ScriptedMulti(machine.UART(0), 0, keep=KEEP)
    gc.collect()
    used = gc.mem_alloc() - before
    del harness, clock, s
    return used


def _from_rom(mod):
    """True for a module loaded from the ROMFS mount, frozen into the VM, or built in."""
    f = getattr(mod, "__file__", None)
    return f is None or f.startswith("/rom/") or not f.startswith("/")  # frozen: relative


def not_from_rom():
    return [m for m in sys.modules if m != "__main__" and not _from_rom(sys.modules[m])]


def run(minutes, root, boot=False):
    import asyncio

    import machine
    from multi import ScriptedMulti

    import startup

    clock, s = prepare(root, HARNESS if boot else MODULES)
    gc.collect()
    base = gc.mem_alloc()  # modules imported (unless boot): what follows is the app's own heap
    app = startup.build(root + "/", clock.ticks_ms, s)
    gc.collect()
    built = gc.mem_alloc() - base
    # the sync phase is 1 ms off the bus task's 2 ms polling grid
    multi = ScriptedMulti(machine.uarts[0], clock.t + 1, ac_in=True, keep=KEEP)
    clock.hooks.append(multi)
    gc.collect()
    harness = gc.mem_alloc() - base - built  # the scripted Multi: not the app's
    stats = {"live_high": 0, "low_cell_cycles": 0, "free_min": gc.mem_free()}

    async def drive():
        app.start()
        for sec in range(minutes * 60):
            await asyncio.sleep_ms(1000)
            phase = sec % 60
            if phase == 10:
                machine.Pin(16).external = 0  # low cell
            elif phase == 50:
                machine.Pin(16).external = 1
                stats["low_cell_cycles"] += 1
            gc.collect()
            m = gc.mem_alloc() - base - harness
            if m > stats["live_high"]:
                stats["live_high"] = m
            if gc.mem_free() < stats["free_min"]:
                stats["free_min"] = gc.mem_free()

    asyncio.run(drive())
    result = {
        "heap_base": base,
        "harness": harness,
        "app_built": built,
        "app_heap_high_water": stats["live_high"],
        "heap_free_min": stats["free_min"],
        "heap_free_end": gc.mem_free(),
        "syncs": multi.syncs,
        "bms_frames": multi.total,
        "wrong_frame_no": multi.wrong_no,
        "response_max_ms": multi.max_delay,
        "response_min_ms": multi.min_delay,
        "switch_frames": multi.by_msg.get(0x3F, 0),
        "status_frames": multi.by_msg.get(0x20, 0),
        "multi_version": app.role.multi_version,
        "events_logged": app.log.seq,
        "low_cell_cycles": stats["low_cell_cycles"],
        "collisions": app.port.collisions,
        "simulated_s": minutes * 60,
    }
    asyncio.new_event_loop()  # drop the tasks, then the app: room for the rest of the result
    app = multi = None
    clock.hooks[:] = []
    gc.collect()
    result["not_from_rom"] = not_from_rom()
    result["modules"] = sorted(sys.modules)
    return result


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "run"
    root = sys.argv[3] if len(sys.argv) > 3 else "/tmp/vebus-apprun"
    if mode == "imports":
        print(json.dumps({"imports": imports(root)}))
        return
    minutes = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    print(json.dumps(run(minutes, root, mode == "boot")))


if __name__ == "__main__":
    main()
