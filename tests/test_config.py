"""Config schema, YAML loading, overrides and the fit CLI's handling of bad input."""

import os
import subprocess
import sys
from pathlib import Path

import tensorflow as tf

from tfgen import config as config_lib
from tfgen import models
from tfgen.models import VAEConfig

REPO = Path(__file__).resolve().parents[1]


class ResolveTest(tf.test.TestCase):
    def test_defaults_equal_the_shipped_configs(self):
        shipped_models = set()
        for path in sorted((REPO / "configs").glob("*.yaml")):
            with self.subTest(config=path.name):
                shipped = config_lib.load_yaml(path)
                config_class = models.get(shipped["model"]).config_class
                self.assertEqual(
                    config_lib.to_dict(config_lib.resolve(config_class, shipped)),
                    config_lib.to_dict(config_class()),
                )
                self.assertEqual(sorted(shipped), sorted(config_lib.field_names(config_class)))
                shipped_models.add(shipped["model"])
        self.assertEqual(shipped_models, set(models.names()))

    def test_every_config_value_is_commented(self):
        for path in sorted((REPO / "configs").glob("*.yaml")):
            for line in path.read_text().splitlines():
                if line.strip() and not line.startswith("#"):
                    self.assertIn(" # ", line, f"{path.name}: no comment on {line!r}")

    def test_overrides_are_parsed_and_typed(self):
        overrides = config_lib.parse_overrides(
            ["epochs=3", "learning_rate=2e-4", "jit_compile=false", "steps_per_epoch=null"]
        )
        config = config_lib.resolve(VAEConfig, {"epochs": 10}, overrides)
        self.assertEqual(config.epochs, 3)
        self.assertEqual(config.learning_rate, 2e-4)
        self.assertEqual(config.jit_compile, "false")
        self.assertIsNone(config.steps_per_epoch)

    def test_int_is_accepted_for_float(self):
        self.assertEqual(config_lib.resolve(VAEConfig, {"beta": 2}).beta, 2.0)

    def test_unknown_key_names_valid_keys(self):
        with self.assertRaisesRegex(
            config_lib.ConfigError, r"unknown config key\(s\) latnet_dim.*latent_dim"
        ):
            config_lib.resolve(VAEConfig, {"latnet_dim": 3})

    def test_badly_typed_value(self):
        with self.assertRaisesRegex(
            config_lib.ConfigError, r"batch_size: expected int, got 'many'"
        ):
            config_lib.resolve(VAEConfig, overrides=config_lib.parse_overrides(["batch_size=many"]))
        with self.assertRaisesRegex(config_lib.ConfigError, "epochs: expected int, got 1.5"):
            config_lib.resolve(VAEConfig, {"epochs": 1.5})

    def test_choices_are_listed(self):
        with self.assertRaisesRegex(
            config_lib.ConfigError, "strategy: 'tpu' is not one of .*default, mirrored"
        ):
            config_lib.resolve(VAEConfig, {"strategy": "tpu"})
        with self.assertRaisesRegex(config_lib.ConfigError, "bernoulli, continuous_bernoulli"):
            config_lib.resolve(VAEConfig, {"likelihood": "gaussian"})

    def test_ranges(self):
        with self.assertRaisesRegex(
            config_lib.ConfigError, "batch_size: must be a positive integer"
        ):
            config_lib.resolve(VAEConfig, {"batch_size": 0})

    def test_override_without_equals(self):
        with self.assertRaisesRegex(config_lib.ConfigError, "key=value"):
            config_lib.parse_overrides(["epochs"])

    def test_yaml_is_loaded_safely(self):
        path = Path(self.get_temp_dir()) / "evil.yaml"
        path.write_text("epochs: !!python/object/apply:os.system ['echo pwned']\n")
        with self.assertRaisesRegex(config_lib.ConfigError, "not valid YAML"):
            config_lib.load_yaml(path)

    def test_yaml_round_trip(self):
        config = VAEConfig(epochs=4, latent_dim=8)
        path = Path(self.get_temp_dir()) / "c.yaml"
        path.write_text(config_lib.to_yaml(config))
        self.assertEqual(config_lib.resolve(VAEConfig, config_lib.load_yaml(path)), config)


def run_fit(*args):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [sys.executable, "-m", "tfgen.fit", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=REPO,
    )


class FitCliTest(tf.test.TestCase):
    def test_dry_run_prints_resolved_config(self):
        result = run_fit(
            "--model", "vae", "--set", "epochs=2", "latent_dim=7", "--set", "beta=0.5", "--dry-run"
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("epochs: 2\n", result.stdout)
        self.assertIn("latent_dim: 7\n", result.stdout)
        self.assertIn("beta: 0.5\n", result.stdout)
        self.assertIn("dataset: binarized_mnist\n", result.stdout)

    def test_config_file_and_dry_run(self):
        result = run_fit("--config", "configs/vae_mnist.yaml", "--dry-run")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("model: vae\n", result.stdout)

    def test_unknown_model_lists_models(self):
        result = run_fit("--model", "vea", "--dry-run")
        self.assertEqual(result.returncode, 2)
        self.assertIn(
            f"unknown model 'vea'; valid models are: {', '.join(models.names())}", result.stderr
        )

    def test_unknown_key_and_bad_value_exit_2(self):
        result = run_fit("--model", "vae", "--set", "epoch=3", "--dry-run")
        self.assertEqual(result.returncode, 2)
        self.assertIn("valid keys", result.stderr)
        result = run_fit("--model", "vae", "--set", "jit_compile=maybe", "--dry-run")
        self.assertEqual(result.returncode, 2)
        self.assertIn("auto, true, false", result.stderr)

    def test_unknown_dataset_lists_datasets(self):
        result = run_fit(
            "--model", "vae", "--set", "dataset=cifar11", "--run-dir", self.get_temp_dir()
        )
        self.assertEqual(result.returncode, 2)
        self.assertIn("cifar11", result.stderr)
        self.assertIn("binarized_mnist", result.stderr)

    def test_model_contradicting_config(self):
        path = Path(self.get_temp_dir()) / "c.yaml"
        path.write_text("model: gan\n")
        result = run_fit("--model", "vae", "--config", str(path), "--dry-run")
        self.assertEqual(result.returncode, 2)
        self.assertIn("contradicts", result.stderr)

    def test_help_lists_models_and_datasets(self):
        result = run_fit("--help")
        self.assertEqual(result.returncode, 0)
        self.assertIn(f"models: {', '.join(models.names())}", result.stdout)
        self.assertIn("binarized_mnist", result.stdout)
