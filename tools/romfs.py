"""A ROMFS image of the deployed files, as `mpremote romfs deploy` writes to a board's ROM.

The files are the ones tools/deploy.build compiles (the one builder: mpy-cross, same flags);
this module only packs them, with mpremote's own VfsRomWriter, into the image format that
MicroPython's `vfs.VfsRom` mounts. A module imported from a VfsRom mount runs its bytecode in
place: only its objects (module dict, functions, classes, tuples...) go to the heap.

    image(items)                      -> bytes, from deploy.build's [(board path, file, size)]
    image(items + compile_extra(...)) adds more files (the tests' harness) under their own path
"""

from pathlib import Path

from mpremote.romfs import VfsRomWriter

from tools import deploy


def image(items):
    """Pack [(board path, local file, size)] into one ROMFS image (bytes)."""
    tree = {}
    for dest, local, _ in items:
        node = tree
        *dirs, name = dest.strip("/").split("/")
        for d in dirs:
            node = node.setdefault(d, {})
        node[name] = Path(local).read_bytes()
    w = VfsRomWriter()

    def put(node):
        for name in sorted(node):
            if isinstance(node[name], dict):
                w.opendir(name)
                put(node[name])
                w.closedir()
            else:
                w.mkfile(name, node[name])

    put(tree)
    return w.finalise()


def compile_extra(files, prefix, out, mpy_cross=None):
    """mpy-cross each .py of `files` (deploy's flags) to out/NAME.mpy; items under /prefix/."""
    mpy_cross = mpy_cross or deploy.find_tool("mpy-cross")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    items = []
    for src in files:
        src = Path(src)
        local = out / (src.stem + ".mpy")
        deploy.compile_mpy(mpy_cross, src, src.name, local)
        items.append(("/%s/%s" % (prefix, local.name), local, local.stat().st_size))
    return items
