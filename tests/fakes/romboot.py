"""Start tests/fakes/apprun.py's run from a ROMFS image with a fixed heap budget. Never deployed.

    micropython -X heapsize=N tests/fakes/romboot.py IMAGE BUDGET MODE MINUTES ROOT

The unix port has no ROM: the image is read into one bytearray on the heap and mounted as
vfs.VfsRom at /rom (a board's `mpremote romfs deploy` puts the same image in flash), /rom and
/rom/lib come first on sys.path, and no source folder is on it. Then blockers take the heap so
that everything that is not the image's bytes (this launcher, the mount, every module's objects,
the harness, the app) has exactly BUDGET bytes. MODE "imports": apprun.imports (the heap the
modules' objects and the harness take, code in ROM); "run": apprun.run (the app for MINUTES
simulated minutes); "boot": the same with the firmware imported inside startup.build, as on a
board. Prints apprun's figures as one JSON line with the budget figures added; a MemoryError
ends the run with a traceback.
"""

import gc
import json
import os
import sys

import vfs

ROM = "/rom"
BLOCK = 4 * (8 if sys.maxsize > 1 << 32 else 4)  # GC block: 32 bytes on the 64-bit unix port
_blockers = []


def _round(n):
    return (n + BLOCK - 1) // BLOCK * BLOCK


def mount(path):
    size = os.stat(path)[6]
    img = bytearray(size)
    with open(path, "rb") as f:
        if f.readinto(img) != size:
            raise OSError("short read of the ROMFS image")
    vfs.mount(vfs.VfsRom(img), ROM)
    sys.path[:] = [".frozen", ROM, ROM + "/lib", ROM + "/harness"]
    return img


def block(free):
    """Allocate blockers until gc.mem_free() is exactly `free` (after a collection)."""
    gc.collect()
    extra = gc.mem_free() - free
    if extra < 0:
        raise MemoryError("heap too small for the budget: %d bytes short" % -extra)
    if extra > 256:
        _blockers.append(bytearray(extra - 256))
    for _ in range(16):
        gc.collect()
        extra = gc.mem_free() - free
        if extra <= 0:
            break
        # a bytearray costs its object (one block) + its data; a float is one block
        _blockers.append(bytearray(extra - BLOCK) if extra >= 2 * BLOCK else 1.5)
    gc.collect()
    if gc.mem_free() != free:
        raise RuntimeError("cannot set the free heap to %d: %d" % (free, gc.mem_free()))


def main():
    path, budget, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    minutes, root = int(sys.argv[4]), sys.argv[5]
    img = mount(path)
    gc.collect()
    overhead = gc.mem_alloc() - _round(len(img))  # launcher + mount: not the image, counted
    block(budget - overhead)
    import apprun

    if mode == "imports":
        result = {"imports": apprun.imports(root), "heap_free_min": gc.mem_free()}
        result["not_from_rom"] = apprun.not_from_rom()
    else:
        result = apprun.run(minutes, root, mode == "boot")
    result["budget"] = budget
    result["image_bytes"] = len(img)
    result["boot_overhead"] = overhead
    result["budget_used_max"] = budget - result["heap_free_min"]
    print(json.dumps(result))


main()
