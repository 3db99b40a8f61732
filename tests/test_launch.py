"""`python -m tfgen.launch`: TF_CONFIGs, output prefixes, and stopping on a failed worker."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import tensorflow as tf

from tfgen import launch

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
    args = [sys.executable, "-m", "tfgen.launch", "--workers", str(workers), "--grace-period",
            str(grace_period), "--", sys.executable, "-c", WORKER.format(code=code, sleep=sleep)]
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
            launch.main(["--workers", "2"])
        self.assertEqual(raised.exception.code, 2)

    def test_a_missing_command_exits_127(self):
        self.assertEqual(launch.main(["--workers", "2", "--", "/nonexistent/python"]), 127)

    def test_ctrl_c_sends_sigterm_to_every_worker(self):
        worker = ("import signal, sys, time\n"
                  "def stop(signum, frame):\n"
                  "    print('stopping on', signal.Signals(signum).name, flush=True)\n"
                  "    sys.exit(143)\n"
                  "signal.signal(signal.SIGTERM, stop)\n"
                  "print('ready', flush=True)\n"
                  "time.sleep(60)\n")
        process = subprocess.Popen(
            [sys.executable, "-m", "tfgen.launch", "--workers", "2", "--", sys.executable, "-c",
             worker], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        lines = []
        while sum("ready" in line for line in lines) < 2:
            lines.append(process.stdout.readline())
        process.send_signal(signal.SIGINT)
        stdout, _ = process.communicate(timeout=30)
        self.assertEqual(process.returncode, 130)
        self.assertIn("[worker 0] stopping on SIGTERM", stdout)
        self.assertIn("[worker 1] stopping on SIGTERM", stdout)
