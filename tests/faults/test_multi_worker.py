"""Two workers by `python -m tfgen.launch`: one process's weights, one process's run directory."""

import os
import re
import subprocess
import sys
from pathlib import Path

import fault_runs
import numpy as np
import pytest
import tensorflow as tf

from tfgen import config as config_lib
from tfgen import runs, training
from tfgen.distribute import launch

# Two epochs of 5 steps of the global batch 8 (4 examples per worker).
TINY = dict(epochs=2, steps_per_epoch=5)


def run_layout(run_dir):
    """The run directory's files, event files named by their TensorBoard directory only."""
    names = set()
    for path in Path(run_dir).rglob("*"):
        relative = path.relative_to(run_dir)
        if path.is_file() and ".tfevents." in path.name:
            relative = relative.parent / "events"
        names.add(str(relative))
    return sorted(names)


def event_writer_pids(run_dir):
    """The process IDs in the names of the run's TensorBoard event files."""
    return {
        re.search(r"\.(\d+)\.\d+\.v2$", path.name).group(1)
        for path in Path(run_dir).rglob("*.tfevents.*")
    }


@pytest.mark.slow
class MultiWorkerTest(tf.test.TestCase):
    def setUp(self):
        super().setUp()
        self.tmp = Path(self.create_tempdir().full_path)
        self.npz = fault_runs.write_npz(self.tmp)

    def launch(self, model, run_dir, workers=2, **overrides):
        """Runs the tiny fit as `workers` workers; returns the launcher's output."""
        worker_tmp = self.tmp / "worker-tmp"  # Where non-chief workers keep their files.
        worker_tmp.mkdir(exist_ok=True)
        args = [
            sys.executable,
            "-m",
            "tfgen.launch",
            "--workers",
            str(workers),
            "--",
            *fault_runs.fit_args(model, self.npz, run_dir, **{**TINY, **overrides}),
        ]
        env = {**fault_runs.ENV, "TF_CPP_MIN_LOG_LEVEL": "2", "TMPDIR": str(worker_tmp)}
        env.pop("TF_CONFIG", None)
        result = subprocess.run(
            args, capture_output=True, text=True, env=env, cwd=fault_runs.REPO, timeout=240
        )
        self.assertEqual(result.returncode, 0, result.stderr[-4000:])
        self.assertEqual(os.listdir(worker_tmp), [])  # Non-chief files removed.
        return result

    def assert_like_one_process(self, model, atol, **overrides):
        """Trains `model` as two workers and in this process, and compares the run
        directories and weights (a relaunched VAE: `test_multi_worker_kill.py`)."""
        launched = self.tmp / f"{model}-2-workers"
        result = self.launch(model, launched, **overrides)
        for index in (0, 1):
            self.assertIn(f"[worker {index}] run directory: {launched}", result.stdout)

        single = self.tmp / f"{model}-1-process"
        training.train(
            fault_runs.config(model, self.npz, **TINY, **overrides), run_dir=single, verbose=0
        )

        # One writer: the same files as a one-process run, one event file per log directory.
        self.assertEqual(run_layout(launched), run_layout(single))
        self.assertNotIn("worker", " ".join(run_layout(launched)))
        self.assertLen(event_writer_pids(launched), 1)  # The chief only.

        expected, _, _, expected_epoch = runs.load(single)
        actual, _, _, actual_epoch = runs.load(launched)
        self.assertEqual(actual_epoch, expected_epoch)
        differences = [
            float(np.max(np.abs(np.asarray(a) - np.asarray(e))))
            for a, e in zip(actual.weights, expected.weights)
        ]
        self.assertLen(actual.weights, len(expected.weights))
        for weight, a, e in zip(expected.weights, actual.weights, expected.weights):
            self.assertAllClose(a, e, atol=atol, rtol=0, msg=weight.path)
        return max(differences)

    def test_dcgan_two_workers_equal_one_process(self):
        # The generator's batch norm is synchronized over every replica of every worker.
        self.assert_like_one_process("dcgan", atol=1e-5)

    def test_gpt_two_workers_train_a_text_model(self):
        # A smoke test of a language model (tokenizer, text pipeline, text samples) as workers.
        rng = np.random.default_rng(0)
        corpus = self.tmp / "corpus.txt"
        corpus.write_text(
            "\n".join(
                " ".join(rng.choice(["to", "be", "or", "not", "that", "is"], 12)) + "."
                for _ in range(400)
            )
        )
        run_dir = self.tmp / "gpt-2-workers"
        settings = dict(
            dataset=f"text:{corpus}",
            batch_size=4,
            epochs=1,
            steps_per_epoch=3,
            validation_steps=1,
            context_length=16,
            warmup_steps=2,
            sample_tokens=10,
            seed=5,
            n_layer=1,
            n_head=2,
            n_embd=8,
        )
        args = [
            sys.executable,
            "-m",
            "tfgen.launch",
            "--workers",
            "2",
            "--",
            sys.executable,
            "-m",
            "tfgen.fit",
            "--model",
            "gpt",
            "--run-dir",
            str(run_dir),
            "--quiet",
            *[f"--set={key}={value}" for key, value in settings.items()],
        ]
        result = subprocess.run(
            args,
            capture_output=True,
            text=True,
            cwd=fault_runs.REPO,
            timeout=240,
            env={**fault_runs.ENV, "TF_CPP_MIN_LOG_LEVEL": "2"},
        )
        self.assertEqual(result.returncode, 0, result.stderr[-4000:])
        for index in (0, 1):
            self.assertIn(
                f"[worker {index}] samples:       {run_dir / 'samples.txt'}", result.stdout
            )
        self.assertTrue((run_dir / "samples.txt").read_text().strip())
        self.assertNotIn("worker", " ".join(run_layout(run_dir)))
        _, config, _, epoch = runs.load(run_dir)
        self.assertEqual((config.model, epoch), ("gpt", 1))

    def test_a_hand_started_worker_stops_when_the_chief_refuses_the_run(self):
        # Workers started by hand, without the launcher to stop them: the chief refuses a run
        # directory of another config, and worker 1 must not wait for it forever.
        run_dir = self.tmp / "vae-other-config"
        run_dir.mkdir()
        (run_dir / runs.Run.CONFIG).write_text(
            config_lib.to_yaml(fault_runs.config("vae", self.npz, **TINY, latent_dim=3))
        )
        configs = launch.worker_tf_configs(launch.free_ports(2))
        env = {**fault_runs.ENV, "TF_CPP_MIN_LOG_LEVEL": "2"}
        workers = [
            subprocess.Popen(
                fault_runs.fit_args("vae", self.npz, run_dir, **TINY),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env={**env, "TF_CONFIG": tf_config},
                cwd=fault_runs.REPO,
            )
            for tf_config in configs
        ]
        (_, chief_err), (_, worker_err) = [w.communicate(timeout=180) for w in workers]
        self.assertEqual(workers[0].returncode, 2, chief_err[-3000:])
        self.assertIn("was started with a different config (differs in: latent_dim)", chief_err)
        self.assertEqual(workers[1].returncode, 1, worker_err[-3000:])
        self.assertIn("error: worker 1 lost the other workers", worker_err)
        self.assertNotIn("Traceback", worker_err)
