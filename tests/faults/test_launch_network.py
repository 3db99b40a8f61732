"""Where launched workers listen: a private network namespace, or (`--host-network`) every
interface of this machine, as TensorFlow's gRPC server binds 0.0.0.0 whatever `TF_CONFIG` says.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import fault_runs
import psutil
import pytest
import tensorflow as tf

REPO = Path(__file__).resolve().parents[2]
# A worker that starts the gRPC server of its TF_CONFIG task, says so, and waits.
SERVER = """
import json, os, time
import tensorflow as tf
config = json.loads(os.environ["TF_CONFIG"])
server = tf.distribute.Server(tf.train.ClusterSpec(config["cluster"]), job_name="worker",
                              task_index=config["task"]["index"], protocol="grpc", start=True)
print("listening", flush=True)
time.sleep(120)
"""
LISTEN = "0A"  # The TCP state LISTEN in /proc/net/tcp.
# A worker without TensorFlow that listens on every interface, as TensorFlow's server does.
SOCKET_SERVER = """
import json, os, socket, time
config = json.loads(os.environ["TF_CONFIG"])
port = int(config["cluster"]["worker"][config["task"]["index"]].rsplit(":", 1)[1])
server = socket.create_server(("", port), family=socket.AF_INET6, dualstack_ipv6=True)
print("listening", os.getuid(), flush=True)
time.sleep(120)
"""
NOBODY = 65534
# Whether a Python can import the launcher, and start itself again (as workers).
CAN_RUN = (
    "import subprocess, sys, tfgen.launch\nsubprocess.run([sys.executable, '-c', ''], check=True)"
)


def listening_ports(proc_net):
    """The TCP ports in state LISTEN in `proc_net` (a /proc/.../net directory), IPv4 and 6."""
    ports = set()
    for name in ("tcp", "tcp6"):
        path = Path(proc_net) / name
        if path.exists():
            for line in path.read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == LISTEN:
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def interfaces(pid):
    """The network interfaces that process `pid` sees."""
    lines = Path(f"/proc/{pid}/net/dev").read_text().splitlines()[2:]
    return sorted(line.split(":")[0].strip() for line in lines)


def private_network_available():
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "from tfgen.distribute import launch\nlaunch.enter_private_network()",
        ],
        cwd=REPO,
        capture_output=True,
    )
    return probe.returncode == 0


def launched_servers(*options, workers=2, python=sys.executable, server=SERVER, prefix=()):
    """Starts `workers` servers with the launcher; returns it and its worker processes
    (with their TF_CONFIGs) once every server listens."""
    launcher = subprocess.Popen(
        [
            *prefix,
            python,
            "-m",
            "tfgen.launch",
            "--workers",
            str(workers),
            "--grace-period",
            "2",
            *options,
            "--",
            python,
            "-c",
            server,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**fault_runs.ENV, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(REPO)},
    )
    listening = 0
    while listening < workers:
        line = launcher.stdout.readline()
        if not line:
            raise AssertionError(f"the launcher ended early:\n{launcher.communicate()[1]}")
        listening += "] listening" in line
    processes = psutil.Process(launcher.pid).children()
    return launcher, {p.pid: json.loads(p.environ()["TF_CONFIG"]) for p in processes}


def stop(launcher):
    launcher.send_signal(signal.SIGTERM)
    _, stderr = launcher.communicate(timeout=30)
    return stderr


def worker_ports(tf_config):
    return {int(address.rsplit(":", 1)[1]) for address in tf_config["cluster"]["worker"]}


@pytest.mark.slow
class LaunchNetworkTest(tf.test.TestCase):
    def test_workers_listen_in_a_private_network_with_loopback_only(self):
        if not private_network_available():
            self.skipTest("no network namespace can be made here (unshare refused)")
        launcher, workers = launched_servers()
        try:
            self.assertLen(workers, 2)
            ports = worker_ports(next(iter(workers.values())))
            own_namespace = os.readlink("/proc/self/ns/net")
            namespaces = {os.readlink(f"/proc/{pid}/ns/net") for pid in workers}
            self.assertLen(namespaces, 1)  # One namespace that both share...
            self.assertNotIn(own_namespace, namespaces)  # ...which is not this machine's,
            for pid in workers:
                self.assertEqual(interfaces(pid), ["lo"])  # has only the loopback interface,
                # and where the servers listen,
                self.assertContainsSubset(ports, listening_ports(f"/proc/{pid}/net"))
            self.assertEmpty(ports & listening_ports("/proc/self/net"))  # unlike here.
        finally:
            stderr = stop(launcher)
        self.assertNotIn("[launch] note", stderr)

    def test_an_unprivileged_user_gets_a_private_network_too(self):
        # Through a user namespace that maps the user's own uid: run as `nobody`.
        setpriv = shutil.which("setpriv")
        if os.geteuid() != 0 or not setpriv:
            self.skipTest("needs root and setpriv, to run the launcher as nobody")
        prefix = (setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups")
        python = next(
            (
                p
                for p in (sys.executable, "/usr/bin/python3")
                if subprocess.run(
                    [*prefix, p, "-c", CAN_RUN],
                    cwd=REPO,
                    env={"PYTHONPATH": str(REPO)},
                    capture_output=True,
                ).returncode
                == 0
            ),
            None,
        )
        if python is None:
            self.skipTest("no Python that nobody can run with this repository")
        probe = subprocess.run(
            [
                *prefix,
                python,
                "-c",
                "from tfgen.distribute import launch\nlaunch.enter_private_network()",
            ],
            cwd=REPO,
            env={"PYTHONPATH": str(REPO)},
            capture_output=True,
            text=True,
        )
        if probe.returncode != 0:
            self.skipTest(f"no unprivileged user namespaces here: {probe.stderr[-300:]}")
        launcher, workers = launched_servers(python=python, server=SOCKET_SERVER, prefix=prefix)
        try:
            ports = worker_ports(next(iter(workers.values())))
            for pid in workers:
                self.assertEqual(psutil.Process(pid).uids().real, NOBODY)  # Its own uid.
                self.assertNotEqual(
                    os.readlink(f"/proc/{pid}/ns/net"), os.readlink("/proc/self/ns/net")
                )
                self.assertEqual(interfaces(pid), ["lo"])
                self.assertContainsSubset(ports, listening_ports(f"/proc/{pid}/net"))
            self.assertEmpty(ports & listening_ports("/proc/self/net"))
        finally:
            stderr = stop(launcher)
        self.assertNotIn("[launch] note", stderr)

    def test_host_network_listens_on_every_interface_and_says_so(self):
        launcher, workers = launched_servers("--host-network")
        try:
            ports = worker_ports(next(iter(workers.values())))
            own_namespace = os.readlink("/proc/self/ns/net")
            self.assertEqual(
                {os.readlink(f"/proc/{pid}/ns/net") for pid in workers}, {own_namespace}
            )
            # TensorFlow binds 0.0.0.0 (or ::), not the 127.0.0.1 of TF_CONFIG.
            wildcard = {
                int(line.split()[1].rsplit(":", 1)[1], 16)
                for name in ("tcp", "tcp6")
                for line in Path(f"/proc/self/net/{name}").read_text().splitlines()[1:]
                if line.split()[3] == LISTEN and set(line.split()[1].rsplit(":", 1)[0]) == {"0"}
            }
            self.assertContainsSubset(ports, wildcard)
        finally:
            stderr = stop(launcher)
        self.assertIn(
            "[launch] note: the workers run on this machine's network (--host-network)", stderr
        )
        for port in ports:
            self.assertIn(f"0.0.0.0:{port}", stderr)
