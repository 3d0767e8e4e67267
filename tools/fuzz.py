"""Fuzz the VE.Bus stream decoder and the MK2 decoder of lib/vebus: `make fuzz`.

    python -m tools.fuzz [--count N] [--seed S] [--jobs J] [--only vebus|mk2]

N random and mutated inputs go through EACH decoder (default 1 000 000 each), fed in random
chunk sizes into one long-lived decoder per shard (so garbage, truncation and resync carry from
one input to the next, as on a wire). Inputs: random bytes, random bytes from the protocol's own
alphabet (83 98 F7 FD FE FA FF 00 FB 55 ...), valid frames (the real vectors and frames built by
lib/vebus's encoder) mutated by bit flips, byte changes, insertions, deletions, truncation,
duplication and splicing, trains of valid frames with noise, and over-long frames.

Checked on every input, for both decoders:
  - no exception escapes the decoder;
  - every frame it hands out is well formed (VE.Bus: passes the checksum rule, ends in FF and
    re-encodes to exactly the bytes received; MK2: its bytes sum to 0 mod 256);
  - it resynchronises: VE.Bus: two valid frames after any input, and the second one comes out.
    MK2 has no end byte, so a garbage length byte can swallow what follows and by chance
    (1 in 256) pass the checksum: after each input a train of ten distinct frames must end
    with its last frame out, or (counted and reported, at most 1 %) come out whole after a
    simulated silence (reset(), what a client does after a read timeout);
  - memory is bounded: the bytes it holds never exceed its buffer, and the interpreter's count of
    allocated blocks does not grow after warm-up (checked at every progress line).
Seeded: the same --seed, --count and --jobs print the same counts and digest. Before it starts it
prints an estimate of its run time (from CALIBRATE inputs per decoder timed here). Exit 0 when
every check held, 1 otherwise (the first failing input is printed as hex, with the seed to replay
it), 2 for bad arguments, 130 when stopped with Ctrl-C (after a summary of the inputs checked).
"""

import argparse
import hashlib
import multiprocessing
import os
import signal
import sys
import time

from tools.fuzzcases import (
    FuzzFailure,
    _have_mk2,
    fuzz_mk2,
    fuzz_vebus,
)

CALIBRATE = 400  # inputs per decoder timed for the run-time estimate
_done = None  # in a worker: the shared count of inputs checked, per shard


def _worker_init(done):
    global _done
    _done = done
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's: it stops the pool


def _shard(args):
    which, seed, shard, count, verbose = args
    t0 = time.monotonic()

    def progress(done, state):
        if _done is not None:
            _done[shard] = done
        if verbose:
            print(
                "fuzz %s shard %d: %d/%d inputs, %d bytes, %d frames, %.1f s"
                % (
                    which,
                    shard,
                    done,
                    count,
                    state["bytes"],
                    state["frames"],
                    time.monotonic() - t0,
                ),
                file=sys.stderr,
                flush=True,
            )

    fn = fuzz_vebus if which == "vebus" else fuzz_mk2
    try:
        return fn(seed * 1000 + shard, count, progress), None
    except FuzzFailure as e:
        return None, "%s (seed %d, shard %d)" % (e, seed, shard)


def _merge(results):
    total: dict = {"inputs": 0, "bytes": 0, "frames": 0, "raw_cs": 0, "swallowed": 0}
    counts = {}
    for r in results:
        for k in total:
            total[k] += r.get(k, 0)
        for k, v in r.get("counts", {}).items():
            counts[k] = counts.get(k, 0) + v
    if counts:
        total["counts"] = counts
    return total


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="python -m tools.fuzz",
        description="Fuzz lib/vebus's VE.Bus stream decoder and MK2 decoder (seeded, repeatable).",
    )
    ap.add_argument("--count", type=int, default=1_000_000, help="inputs per decoder (1000000)")
    ap.add_argument("--seed", type=int, default=1, help="random seed (1)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes")
    ap.add_argument("--only", choices=("vebus", "mk2"), help="fuzz only one decoder")
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    args = ap.parse_args(argv)
    if args.count < 1 or args.jobs < 1:
        print("fuzz: --count and --jobs must be at least 1", file=sys.stderr)
        return 2
    which = [args.only] if args.only else ["vebus", "mk2"]
    if "mk2" in which and not _have_mk2():
        print("fuzz mk2: NOT RUN: lib/vebus has no MK2 decoder (vebus.mk2)")
        return 1
    print(
        "fuzz: %d inputs per decoder on %d jobs: about %s"
        % (args.count, args.jobs, _estimate(which, args.count, args.jobs)),
        flush=True,
    )
    ok = True
    digest = hashlib.sha256()
    t0 = time.monotonic()
    for w in which:
        per = [args.count // args.jobs + (k < args.count % args.jobs) for k in range(args.jobs)]
        jobs = [(w, args.seed, k, n, not args.quiet) for k, n in enumerate(per) if n]
        done = multiprocessing.Array("q", len(jobs))
        pool = multiprocessing.Pool(len(jobs), _worker_init, (done,))
        try:
            outs = pool.map(_shard, jobs)
        except KeyboardInterrupt:
            pool.terminate()
            print(
                "fuzz %s: stopped at %d of %d inputs (checked up to the last progress step), "
                "no check failed in them" % (w, sum(done[:]), args.count)
            )
            print("fuzz: interrupted after %.1f s (seed %d)" % (time.monotonic() - t0, args.seed))
            return 130
        finally:
            pool.close()
            pool.join()
        errors = [e for _, e in outs if e]
        if errors:
            ok = False
            for e in errors:
                print("fuzz %s: FAILED: %s" % (w, e))
            continue
        _report(w, _merge([r for r, _ in outs]), digest)
    print(
        "fuzz: %s in %.1f s (seed %d, %d jobs, digest %s)"
        % (
            "passed" if ok else "FAILED",
            time.monotonic() - t0,
            args.seed,
            args.jobs,
            digest.hexdigest()[:16],
        )
    )
    return 0 if ok else 1


def _estimate(which, count, jobs):
    """Run time from CALIBRATE inputs per decoder timed here (a loaded machine is slower)."""
    seconds = 0.0
    for w in which:
        t = time.monotonic()
        (fuzz_vebus if w == "vebus" else fuzz_mk2)(0, CALIBRATE)
        seconds += (time.monotonic() - t) * count / CALIBRATE / min(jobs, os.cpu_count() or 1)
    return "%.0f s" % seconds if seconds < 120 else "%.0f min" % (seconds / 60)


def _report(w, total, digest):
    digest.update(repr(sorted(total.items())).encode())
    print(
        "fuzz %s: %d inputs, %d bytes, %d frames out, no exception, memory bounded"
        % (w, total["inputs"], total["bytes"], total["frames"])
    )
    if "counts" in total:
        print("fuzz %s: decoder counts %r" % (w, total["counts"]))
    if total["swallowed"]:
        print(
            "fuzz %s: %d trains (%.3f %%) lost their last frame to a false frame that summed "
            "to 0; each decoded whole after a silence"
            % (w, total["swallowed"], 100.0 * total["swallowed"] / total["inputs"])
        )
    if total["raw_cs"]:
        print(
            "fuzz %s: note: %d frames accepted with a raw FB..FE checksum byte (the encoder "
            "escapes it as FA k)" % (w, total["raw_cs"])
        )


if __name__ == "__main__":
    sys.exit(main())
