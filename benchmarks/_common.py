"""Timing helpers shared by the benchmark scripts.

Machines here are shared and noisy, so every figure is a RATIO against a reference run
in the same process, reference and candidates alternating (BENCHMARKS.md). One round
runs every contender once, in an order that rotates from round to round so that none is
always first or last; the ratio of a candidate is taken within each round and the
median over rounds is reported.
"""

from __future__ import annotations

import collections
import datetime
import gc
import json
import os
import platform
import statistics
import sys
import threading
import time
import warnings
from collections.abc import Callable

__all__ = [
    "set_threads",
    "machine_info",
    "machine_line",
    "timed",
    "alternate",
    "summarize",
    "markdown_table",
    "lockstep",
    "single_malloc_arena",
]


def set_threads(n: int | None) -> int:
    """Set torch's intra-op threads (the same for every contender); returns it."""
    import torch

    if n:
        torch.set_num_threads(int(n))
    return torch.get_num_threads()


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _git_commit() -> str:
    """HEAD of the checkout, with "+dirty" when the package sources differ from it."""
    import subprocess

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "sksequence"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def machine_info() -> dict:
    """Date, CPU, core count and library versions, for the results table."""
    import numpy
    import sklearn
    import skorch
    import torch

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        usable = os.cpu_count()
    return {
        "commit": _git_commit(),
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "cpu": _cpu_model(),
        "cores": usable,
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "skorch": skorch.__version__,
        "sklearn": sklearn.__version__,
        "numpy": numpy.__version__,
        "cuda": torch.cuda.is_available(),
        "malloc_arena_max": os.environ.get("MALLOC_ARENA_MAX"),
    }


def machine_line(info: dict | None = None) -> str:
    info = info or machine_info()
    return (
        f"{info['date']}; commit {info['commit']}; {info['cores']} cores ({info['cpu']}), torch threads "
        f"{info['torch_threads']}; Python {info['python']}, torch {info['torch']}, "
        f"skorch {info['skorch']}, scikit-learn {info['sklearn']}, "
        f"numpy {info['numpy']}"
    )


def timed(fn: Callable[[], object]) -> tuple[float, float, object]:
    """Wall time and process CPU time of one call (after a garbage collection), and
    its result.

    On a shared machine the wall time includes waiting for a core; with one torch
    thread the process CPU time does not, so it is the steadier of the two.
    """
    gc.collect()
    start, cpu_start = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - start, time.process_time() - cpu_start, result


def alternate(
    contenders: dict[str, Callable[[], object]],
    rounds: int,
    *,
    log: Callable[[str], None] | None = print,
) -> tuple[dict[str, list[float]], dict[str, list[float]], dict[str, list[object]]]:
    """Run every contender once per round, rotating the order each round.

    Returns the wall times, the CPU times and the results of each contender, one
    entry per round.
    """
    names = list(contenders)
    wall: dict[str, list[float]] = {k: [] for k in names}
    cpu: dict[str, list[float]] = {k: [] for k in names}
    results: dict[str, list[object]] = {k: [] for k in names}
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            t, c, res = timed(contenders[name])
            wall[name].append(t)
            cpu[name].append(c)
            results[name].append(res)
            if log:
                log(
                    f"  round {r + 1}/{rounds}  {name:<14s} wall {t:9.3f} s  "
                    f"cpu {c:9.3f} s"
                )
    return wall, cpu, results


def summarize(times: dict[str, list[float]], reference: str) -> dict[str, dict]:
    """Median time, min/max, and the median of per-round ratios to ``reference``."""
    ref = times[reference]
    out = {}
    for name, ts in times.items():
        ratios = [t / r for t, r in zip(ts, ref)]
        out[name] = {
            "median_s": statistics.median(ts),
            "min_s": min(ts),
            "max_s": max(ts),
            "ratio": statistics.median(ratios),
            "ratio_min": min(ratios),
            "ratio_max": max(ratios),
            "rounds": len(ts),
        }
    return out


def markdown_table(headers: list[str], rows: list[list[object]]) -> str:
    """A GitHub-flavoured markdown table."""
    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
    ]
    for row in rows:
        lines.append("| " + " | ".join(str(c) for c in row) + " |")
    return "\n".join(lines)


def emit(record: dict, path: str | None = None) -> None:
    """Print a result record as one JSON line and, with ``path``, append it to
    that JSONL file."""
    line = json.dumps(record)
    print(line, flush=True)
    if path:
        with open(path, "a") as f:
            f.write(line + "\n")


def variant_means_table(scores: dict, variants: list[str], problems: list[str]) -> str:
    """Markdown table of research screens: for each of ``problems`` found in
    ``scores`` (``scores[problem][variant]``, one score per seed), the number of
    seeds and each variant's mean over them; last, the mean over the problems
    (nan where a variant has no score)."""
    rows, means = [], {v: [] for v in variants}
    for name in [p for p in problems if p in scores]:
        row = [name, max(len(scores[name][v]) for v in variants)]
        for v in variants:
            seeds = scores[name][v]
            m = statistics.fmean(seeds) if seeds else float("nan")
            means[v].append(m)
            row.append(f"{m:.3f}")
        rows.append(row)
    rows.append(["mean", ""] + [f"{statistics.fmean(means[v]):.3f}" for v in variants])
    return markdown_table(["problem", "seeds", *variants], rows)


def screen_main(doc: str, run: Callable, table: Callable, problems: list[str]) -> None:
    """The command line of a per-seed research screen: ``--problems`` (default
    ``problems``) and ``--seed`` call ``run(problems, seed)``; ``--table``
    calls ``table()``. ``doc``: the script's docstring (its first paragraph
    describes it)."""
    import argparse

    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--problems", nargs="+", default=problems)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--table", action="store_true")
    args = parser.parse_args()
    if args.table:
        table()
    else:
        run(args.problems, args.seed)


def class_means_table(path: str, keys: list[str]) -> str:
    """:func:`variant_means_table` of a JSONL log of per-class records
    (``problem``, ``seed`` and a score per key): each key's mean over a seed's
    classes, then over the seeds."""
    per_seed = collections.defaultdict(lambda: collections.defaultdict(list))
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            for k in keys:
                per_seed[r["problem"], r["seed"]][k].append(r[k])
    per = collections.defaultdict(lambda: collections.defaultdict(list))
    for (name, _), d in per_seed.items():
        for k in keys:
            per[name][k].append(statistics.fmean(d[k]))
    return variant_means_table(per, keys, list(per))


def single_malloc_arena() -> None:
    """Re-run this script with ``MALLOC_ARENA_MAX=1`` unless it is already set.

    glibc gives every thread its own malloc arena, and the threads of :func:`lockstep`
    then pay differently for the large buffers a training step allocates and frees
    (seen: whichever contender's thread drew the unlucky arena was 1.1-1.45x slower in
    thread CPU time, whatever its code). One arena for all threads removes that bias;
    the main thread, which runs every other measurement, uses the main arena either way.
    """
    if os.environ.get("MALLOC_ARENA_MAX") == "1" or not sys.platform.startswith(
        "linux"
    ):
        return
    env = dict(os.environ, MALLOC_ARENA_MAX="1")
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, *sys.argv], env)


def lockstep(
    contenders: dict[str, Callable[[Callable[[], None]], object]],
    *,
    pin_cpu: int | None = -1,
) -> tuple[dict[str, list[float]], dict[str, list[float]], dict[str, object]]:
    """Run the contenders in threads that take turns, ONE STEP AT A TIME.

    Each contender is ``fn(hook)`` and calls ``hook()`` at the start of every step
    (batch). At each call the contender's step time is recorded and the turn passes to
    the next contender, so step ``i`` of every contender runs back to back, under the
    same machine load: a paired comparison. Only one thread runs at a time (the others
    wait on a semaphore), so they do not compete for the GIL or the cores. The waiting
    is not counted; per-fit fixed costs before the first step and after the last are
    not counted either (whole-fit times show those).

    ``pin_cpu``: pin every contender's thread to this CPU (-1: the lowest CPU this
    process may use; None: no pinning), so that all of them share one core's load
    and caches instead of the scheduler keeping each on a core of its own. Run the
    process with ``MALLOC_ARENA_MAX=1`` (:func:`single_malloc_arena`): with one malloc
    arena per thread, the contender whose thread drew the worse arena was 1.1-1.45x
    slower whatever its code.

    Returns, per contender, the wall and the thread-CPU durations of its steps in
    seconds (step ``i`` is the interval between its ``i``-th and ``i+1``-th
    ``hook()`` calls; thread CPU time excludes preemption, and with one torch thread
    all of a step's work runs in the calling thread) and its return value.
    """
    if os.environ.get("MALLOC_ARENA_MAX") != "1":
        warnings.warn(
            "lockstep without MALLOC_ARENA_MAX=1: per-thread malloc arenas can bias "
            "the step times by 10-45%; call single_malloc_arena() first.",
            stacklevel=2,
        )
    names = list(contenders)
    if pin_cpu == -1:
        pin_cpu = (
            min(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
        )
    sems = {k: threading.Semaphore(0) for k in names}
    active = dict.fromkeys(names, True)
    lock = threading.Lock()
    wall: dict[str, list[float]] = {k: [] for k in names}
    cpu: dict[str, list[float]] = {k: [] for k in names}
    results: dict[str, object] = {}
    errors: list[BaseException] = []

    def pass_turn(me: str) -> None:
        with lock:
            i = names.index(me)
            for k in names[i + 1 :] + names[: i + 1]:
                if active[k]:
                    sems[k].release()
                    return

    def worker(name: str) -> None:
        resumed = cpu_resumed = None

        def hook() -> None:
            nonlocal resumed, cpu_resumed
            now, cpu_now = time.perf_counter(), time.thread_time()
            if resumed is not None:
                wall[name].append(now - resumed)
                cpu[name].append(cpu_now - cpu_resumed)
            pass_turn(name)
            sems[name].acquire()
            resumed, cpu_resumed = time.perf_counter(), time.thread_time()

        if pin_cpu is not None:
            os.sched_setaffinity(0, {pin_cpu})  # 0: the calling thread (Linux)
        sems[name].acquire()  # wait for the first turn
        try:
            results[name] = contenders[name](hook)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
            errors.append(exc)
        finally:
            with lock:
                active[name] = False
            pass_turn(name)

    threads = [threading.Thread(target=worker, args=(k,)) for k in names]
    for t in threads:
        t.start()
    sems[names[0]].release()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return wall, cpu, results
