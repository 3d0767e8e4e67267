"""The firmware image on a board's flash, for tools/deploy.py: the manifests main.py checks at
boot, the first-deploy layout (flash_tree, for the emulator), and install(): stage the new image
beside the running one, let the board check it, switch in one rename. main.py's header has the
layout; the board-side file operations are tools/deploy_board.py's.
"""

import shutil
import subprocess
import zlib
from pathlib import Path

from tools import deploy_board as bd
from tools.board_files import ROOT
from tools.deploy_board import DeployError

OUT = ROOT / "out" / "deploy"
SETTINGS = "/settings.json"
AS_SOURCE = ("boot.py", "main.py", "startup.py")  # run as .py from the top; the rest is the image


def loader(root=ROOT):
    """startup.py as a module (its CAUSES, manifest()): the one owner of the image format."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bms_main", Path(root) / "startup.py")
    mod = importlib.util.module_from_spec(spec)  # pyright: ignore[reportArgumentType]
    spec.loader.exec_module(mod)  # pyright: ignore[reportOptionalMemberAccess]
    return mod


def version_string(root=ROOT):
    """ "BUILD-COMMIT" ("-dirty" with uncommitted board files): BUILD counts the commits, so it
    grows with every release; "0-unknown" outside a git checkout."""

    def git(*args):
        p = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
        return p.stdout.strip() if p.returncode == 0 else ""

    count, commit = git("rev-list", "--count", "HEAD"), git("rev-parse", "--short=7", "HEAD")
    if not count or not commit:
        return "0-unknown"
    dirty = git(
        "status", "--porcelain", "--", "boot.py", "main.py", "startup.py", "firmware", "lib"
    )
    return "%s-%s%s" % (count, commit, "-dirty" if dirty else "")


def crc(path):
    """(size, CRC-32) of a local file, as main.py's check computes them on the board."""
    data = Path(path).read_bytes()
    return len(data), zlib.crc32(data)


def _blocks(size, bs):
    return -(-size // bs)


def split(items):
    """deploy.build's items -> (top files, image files) as {path: local Path}, and
    {path: (size, crc)} of both."""
    top = {d.lstrip("/"): Path(lo) for d, lo, _ in items if d.lstrip("/") in AS_SOURCE}
    image = {d.lstrip("/"): Path(lo) for d, lo, _ in items if d.lstrip("/") not in AS_SOURCE}
    return top, image, {p: crc(lo) for p, lo in {**top, **image}.items()}


def flash_tree(items, dest, version="0-unknown", mpy="6.3"):
    """The files of a board after a first deploy, in a folder (for an emulator's --fs): image a
    with its MANIFEST, boot.py and main.py with theirs, /active."""
    main = loader()
    dest = Path(dest)
    top, image, sums = split(items)
    for p, local in top.items():
        shutil.copyfile(local, dest / p)
    for p, local in image.items():
        (dest / "img_a" / p).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(local, dest / "img_a" / p)
    (dest / "img_a/MANIFEST").write_text(
        main.manifest([(p, *sums[p]) for p in sorted(image)], version, mpy)
    )
    (dest / "MANIFEST").write_text(main.manifest([(p, *sums[p]) for p in sorted(top)]))
    (dest / "active").write_text("a")


def install(board, items, version, mpy, log=print, settings=None, broot=".", work=OUT):
    """Stage, verify on the board, switch. Returns (new image, board paths sent over USB), or
    None if the board already runs these files. broot: the board's root (tests: a folder)."""
    main = loader()
    st = bd.state(board, broot)
    images = st["images"]
    ptr = st["pointer"]
    cur = ptr[0] if ptr and images.get(ptr[0], {}).get("cause") == 0 else None
    slot = "b" if cur == "a" else "a"
    top, image, sums = split(items)
    have = images[cur]["files"] if cur else {}
    same = sorted(p for p in image if have.get(p) == sums[p])
    send = sorted(p for p in image if p not in same)
    top_have = images["top"]["files"]
    top_send = sorted(top) if any(top_have.get(p) != sums[p] for p in top) else []
    unchanged = cur and not send and not top_send and len(have) == len(image)
    if unchanged and settings is None:
        log("deploy: the board runs these files already (image %s); nothing to install" % cur)
        return None
    files, extra, checks = [], [], []
    if settings is not None:
        log("deploy: settings from %s" % settings)
        files.append((Path(settings), SETTINGS + ".new"))
        extra.append((SETTINGS + ".new", SETTINGS))
        checks.append((SETTINGS + ".new", crc(settings)))
    if unchanged:  # only the settings: the image and /active stay as they are
        board.put(files)
        verify(board, broot, [], checks, main.CAUSES)
        board.exec(bd.script(bd.ACTIVATE, broot, [], *ptr, extra, bd.TOP_STAGE, bd.TOP_STAGE))
        log("deploy: settings verified on the board and installed; image %s unchanged" % cur)
        return cur, []
    dirs = sorted({"/img_%s/%s" % (slot, Path(p).parent) for p in image} | {"/img_" + slot})
    dirs = [d.rstrip("/.") for d in dirs] + (["/" + bd.TOP_STAGE] if top_send else [])
    bs = st["block"]
    need = sum(_blocks(sums[p][0], bs) for p in list(image) + top_send) + 2 * len(dirs) + 8
    free = st["free"] + bs * images.get(slot, {}).get("blocks", 0)
    if st["free"] >= 0 and need * bs > free:
        raise DeployError(
            "the board's filesystem is full: the new image needs %d KB, %d KB are free; "
            "the running image stays" % (need * bs // 1024, free // 1024)
        )
    log(
        "deploy: staging image %s (version %s): %d files over USB, %d copied on the board"
        % (slot, version, len(send), len(same))
    )
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    man = work / "MANIFEST"
    man.write_text(main.manifest([(p, *sums[p]) for p in sorted(image)], version, mpy))
    top_man = work / "MANIFEST.top"
    top_man.write_text(main.manifest([(p, *sums[p]) for p in top_send]))
    board.exec(bd.script(bd.STAGE, broot, slot, dirs, same, cur, bd.TOP_STAGE))
    files += [(image[p], "/img_%s/%s" % (slot, p)) for p in send]
    files.append((man, "/img_%s/MANIFEST" % slot))  # after its files: whole once it is there
    files += [(top[p], "/" + bd.TOP_STAGE + p) for p in top_send]
    if top_send:
        files.append((top_man, "/" + bd.TOP_STAGE + "MANIFEST"))
    board.put(files)
    verify(
        board,
        broot,
        ["img_%s/" % slot] + ([bd.TOP_STAGE] if top_send else []),
        checks,
        main.CAUSES,
    )
    switch = top_send + (["MANIFEST"] if top_send else [])
    args = (switch, slot, cur, 0, extra, bd.TOP_STAGE, bd.TOP_STAGE)
    board.exec(bd.script(bd.ACTIVATE, broot, *args))
    trial = ", on trial (image %s comes back if it fails its first boots)" % cur if cur else ""
    log("deploy: image %s verified on the board and active%s" % (slot, trial))
    return slot, ["/img_%s/%s" % (slot, p) for p in send] + ["/" + p for p in top_send]


def verify(board, broot, staged, checks, causes):
    """The board's boot check on the staged folders, and (size, CRC) of each other file."""
    paths = [p for p, _ in checks]
    for parts in bd.answer(board.exec(bd.script(bd.VERIFY, broot, staged, paths)), "verify"):
        if parts[0] == "V" and parts[2] != "0":
            raise DeployError(
                "verify failed on the board: %s (%s); the running image stays"
                % (causes[int(parts[2])], " ".join(parts[3:]))
            )
        if parts[0] == "X" and (int(parts[3]), int(parts[2])) != dict(checks)[parts[1]]:
            raise DeployError(
                "verify failed on the board: %s differs from what was sent; the running image "
                "stays" % parts[1]
            )


def describe(st, causes):
    """--info's lines from the board's state."""
    images = st["images"]
    ptr = st["pointer"]
    lines = []
    if images["top"]["cause"]:
        lines.append(
            "boot.py/main.py: boot check FAILED: %s (%s)"
            % (causes[images["top"]["cause"]], images["top"]["what"])
        )
    if ptr is None:
        return lines + ["no image installed (no /active): the board is in its safe state"]
    cur, prev, tries = ptr
    for name, role in ((cur, "running"), (prev, "previous")):
        if name is None or name not in images:
            continue
        im = images[name]
        if im["cause"]:
            state = "boot check FAILED: %s (%s)" % (causes[im["cause"]], im["what"])
        else:
            state = "version %s, boot check passed" % im["what"]
        lines.append("image %s (%s): %s" % (name, role, state))
    if prev is not None:
        lines.append(
            "image %s is on trial: %d boot(s) so far; it is confirmed after running %d s, "
            "image %s comes back if it fails" % (cur, tries, loader().CONFIRM_MS // 1000, prev)
        )
    return lines
