# The heap probe of tools/pico: on the emulated Pico only, never deployed to a board. Appended
# to the deployed boot.py (tools/pico/emu.py), so that main.py runs as deployed, as __main__ in
# the same globals as on a board; it adds the least a reading can: no cycle markers, no wrapped
# methods, one function (no global name) and GPIO 28's soft IRQ (tools/pico/stim.py's
# HEAP_PIN). On its edge: a collection and "PROBE heap free=N alloc=N" on the console. make
# bench reads pico_heap_free_bytes from a run with this probe; the timing figures come from the
# full probe's runs (tools/pico/probe/main.py).
from machine import Pin  # boot.py's own name: no new global


def _heap(_):
    import gc

    gc.collect()
    print("PROBE heap free=%d alloc=%d" % (gc.mem_free(), gc.mem_alloc()))


Pin(28, Pin.IN, Pin.PULL_DOWN).irq(_heap, Pin.IRQ_RISING)
del _heap  # the IRQ holds it; __main__'s dict as a board's (main.py shares it)
