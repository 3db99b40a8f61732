"""Helpers shared by the benchmark scripts (run them as `python benchmarks/<name>.py`)."""

import platform


def cpu_model():
    """The CPU's model name: absolute timings only compare on the same machine."""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def best_of_rounds(runners, rounds, steps, warmup_steps=3, describe=lambda: ""):
    """Images/s of every runner, best of `rounds`, the runners alternating round by round.

    Alternating gives every candidate the same machine state (other jobs, CPU clock),
    which matters more than the absolute rates on a shared machine.

    Args:
        runners: `{name: callable(steps) -> images per second}`.
        rounds: timed rounds; the best rate of each runner is kept.
        steps: steps per timed call.
        warmup_steps: steps of one untimed call per runner first (tracing, warm-up).
        describe: returns extra text for each round's progress line (e.g. the load).

    Returns:
        `{name: best images per second}`.
    """
    for run in runners.values():
        run(warmup_steps)
    best = {name: 0.0 for name in runners}
    for round_index in range(rounds):
        for name, run in runners.items():
            best[name] = max(best[name], run(steps))
        print(
            f"round {round_index + 1}: "
            + ", ".join(f"{n}: {v:.1f}" for n, v in best.items())
            + describe(),
            flush=True,
        )
    return best
