"""Local training workers: what `python -m tfgen.launch --workers N -- COMMAND ...` runs.

Example:

```
python -m tfgen.launch --workers 2 -- python -m tfgen.fit --model vae --set epochs=2
```

Each worker is `COMMAND` run with its own `TF_CONFIG` (the cluster of all workers on
free `127.0.0.1` ports, and the worker's index), so `tfgen.fit` trains them together
under `MultiWorkerMirroredStrategy`; worker 0, the chief, writes the run directory.
The launcher prefixes every output line with `[worker i]`, and waits. The workers'
`TMPDIR` is a directory of the launch, removed when it ends (`tfgen.distribute.scratch`). If a worker
fails, the others are stopped (SIGTERM, then SIGKILL after `--grace-period`
seconds) and the launcher exits with the failing worker's status, as `torchrun`
does. Ctrl-C or SIGTERM on the launcher sends SIGTERM to every worker (each saves
its step and stops; see `tfgen.runs.interrupts`); a second one kills them.

The workers run in their own process group, so a terminal's Ctrl-C reaches them
once, through the launcher, not twice. Only loopback addresses are put in the
generated `TF_CONFIG`; for several machines, set `TF_CONFIG` on each one and run
`python -m tfgen.fit` there directly (see docs/training.md).

The workers run in a private network namespace with loopback only, since TensorFlow's
gRPC server listens on every interface (docs/training.md, "Several processes or machines").
"""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import ExitStack

from tfgen.distribute import scratch
from tfgen.distribute.private_network import (
    NetworkIsolationError,
    enter_private_network,
    leave_private_network,
)

LOCALHOST = "127.0.0.1"
# Lines of a worker's output after which a failure is likely the missing network.
NO_NETWORK_SIGNS = (
    "Could not get dataset",
    "cannot be reached from this machine",
    "Network is unreachable",
    "Temporary failure in name resolution",
)


def free_ports(count, host=LOCALHOST):
    """`count` distinct TCP ports on `host` that were free a moment ago."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((host, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def worker_tf_configs(ports, host=LOCALHOST):
    """The `TF_CONFIG` value of each worker of a cluster on `host`:`ports`."""
    cluster = {"worker": [f"{host}:{port}" for port in ports]}
    return [
        json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        for index in range(len(ports))
    ]


def _relay(stream, out, prefix, lock, watch=None):
    """Copies `stream` to `out` line by line, each line after `prefix`; calls `watch(text)`
    with each line, if given."""
    for line in iter(stream.readline, b""):
        text = line.decode("utf-8", errors="replace").rstrip("\r\n")
        if watch is not None:
            watch(text)
        with lock:
            out.write(f"{prefix}{text}\n")
            out.flush()
    stream.close()


def exit_status(returncode):
    """A shell's exit status for a child's `returncode` (128 + N if killed by signal N)."""
    return 128 - returncode if returncode < 0 else returncode


class Workers:
    """The worker processes of one launch.

    Args:
        command: the command each worker runs (a list of strings).
        count: how many workers.
        grace_period: seconds between SIGTERM and SIGKILL when stopping them.
        host_network: run the workers on this machine's network rather than in a
            private network namespace (see the module docstring).

    Attributes:
        isolated: after `start`, whether the workers run in a private network namespace.
        ports: after `start`, the port of each worker in the generated `TF_CONFIG`s.
    """

    def __init__(self, command, count, grace_period=15.0, host_network=False):
        self.command, self.count, self.grace_period = list(command), count, grace_period
        self.host_network = host_network
        self.isolated, self.ports, self.network_wanted = False, [], False
        self.processes, self.relays = [], []
        self.lock = threading.Lock()
        self.resources = ExitStack()

    def start(self):
        previous, reason = None, "--host-network"
        if not self.host_network:
            try:
                previous = enter_private_network()
                self.isolated = True
            except NetworkIsolationError as error:
                reason = f"no private network namespace could be made: {error}"
        try:
            self.ports = free_ports(self.count)
            if not self.isolated:
                listening = ", ".join(f"0.0.0.0:{port}" for port in self.ports)
                print(
                    f"[launch] note: the workers run on this machine's network ({reason}). "
                    f"TensorFlow's gRPC server listens on every interface, not only "
                    f"127.0.0.1, so {listening} can be reached from other machines unless "
                    f"a firewall blocks them.",
                    file=sys.stderr,
                    flush=True,
                )
            self._start_processes(worker_tf_configs(self.ports))
        finally:
            if self.isolated:
                leave_private_network(previous)

    def _watch(self, text):
        if any(sign in text for sign in NO_NETWORK_SIGNS):
            self.network_wanted = True

    def _start_processes(self, configs):
        # The workers' TMPDIR, removed when the launch ends, or by a later launch if the
        # launcher and every worker were killed: they all hold its lock.
        tmpdir, lock_fd = self.resources.enter_context(scratch.locked_dir("tfgen-launch-"))
        for index, tf_config in enumerate(configs):
            env = {
                **os.environ,
                "TF_CONFIG": tf_config,
                "PYTHONUNBUFFERED": "1",
                "TMPDIR": str(tmpdir),
            }
            process = subprocess.Popen(
                self.command,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                pass_fds=(lock_fd,),
            )
            self.processes.append(process)
            for stream, out in ((process.stdout, sys.stdout), (process.stderr, sys.stderr)):
                relay = threading.Thread(
                    target=_relay,
                    daemon=True,
                    args=(stream, out, f"[worker {index}] ", self.lock, self._watch),
                )
                relay.start()
                self.relays.append(relay)

    def close(self):
        """Removes the workers' temporary directory (call once they have ended)."""
        self.resources.close()

    def signal_all(self, signum):
        for process in self.processes:
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signum)
                except ProcessLookupError:
                    pass

    def stop(self):
        """SIGTERM to every running worker, SIGKILL to those alive after the grace period."""
        self.signal_all(signal.SIGTERM)
        deadline = time.monotonic() + self.grace_period
        while time.monotonic() < deadline and any(p.poll() is None for p in self.processes):
            time.sleep(0.05)
        self.signal_all(signal.SIGKILL)
        for process in self.processes:
            process.wait()

    def wait(self, stop_requested):
        """Waits for every worker; returns the launch's exit status.

        Args:
            stop_requested: a callable that returns the signal number the launcher
                received (forwarded as SIGTERM), or `None`.
        """
        forwarded = None
        while True:
            codes = [process.poll() for process in self.processes]
            failed = next((c for c in codes if c not in (None, 0)), None)
            signum = stop_requested()
            if signum is not None and forwarded is None:
                forwarded = signum
                self.signal_all(signal.SIGTERM)
            if failed is not None or all(c is not None for c in codes):
                break
            time.sleep(0.05)
        if failed is not None:
            if forwarded is None:
                with self.lock:
                    print(
                        f"[launch] worker {codes.index(failed)} exited with status "
                        f"{exit_status(failed)}; stopping the others",
                        file=sys.stderr,
                        flush=True,
                    )
            self.stop()
        for relay in self.relays:
            relay.join(timeout=5)
        if failed is not None and self.isolated and self.network_wanted:
            print(
                "[launch] the workers have no network access: they run in a private network "
                "namespace, so that other machines cannot reach their TensorFlow servers. "
                "Fetch the dataset before launching (python -m tfgen.data fetch NAME; TFDS "
                "datasets: download_and_prepare), or pass --host-network.",
                file=sys.stderr,
                flush=True,
            )
        if forwarded is not None:
            return 128 + int(forwarded)
        return exit_status(failed) if failed is not None else 0
