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
