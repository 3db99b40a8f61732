"""Config schema, YAML loading, overrides and the fit CLI's handling of bad input."""

from pathlib import Path

import tensorflow as tf
from support import run_command

from tfgen import config as config_lib
from tfgen import models
from tfgen.models import VAEConfig

REPO = Path(__file__).resolve().parents[1]


# The experiment each family trains by default (`python -m tfgen.fit --model NAME`).
DEFAULT_EXPERIMENTS = {
    "cgan": "cgan_mnist.yaml",
    "char_lstm": "char_lstm_shakespeare.yaml",
    "dcgan": "dcgan_mnist.yaml",
    "gpt": "gpt_shakespeare.yaml",
    "stylegan": "stylegan_mnist.yaml",
    "vae": "vae_mnist.yaml",
    "wgan_gp": "wgan_gp_mnist.yaml",
}
# Keys a config file may give at their default: what names the experiment.
NAMING_KEYS = ("model", "dataset")


class ResolveTest(tf.test.TestCase):
    def test_config_files_resolve_and_list_only_what_they_change(self):
        for path in sorted((REPO / "configs").glob("*.yaml")):
            with self.subTest(config=path.name):
                shipped = config_lib.load_yaml(path)
                config_class = models.get(shipped["model"]).config_class
                config = config_lib.resolve(config_class, shipped)  # Valid keys and values.
                defaults = config_class()
                at_default = [
                    key
                    for key in shipped
                    if key not in NAMING_KEYS and getattr(config, key) == getattr(defaults, key)
                ]
                self.assertEqual(at_default, [], f"{path.name} lists keys at their defaults")
                if DEFAULT_EXPERIMENTS[shipped["model"]] == path.name:
                    self.assertEqual(config_lib.to_dict(config), config_lib.to_dict(defaults))
        self.assertEqual(set(DEFAULT_EXPERIMENTS), set(models.names()))
        for name in DEFAULT_EXPERIMENTS.values():
            self.assertTrue((REPO / "configs" / name).exists(), name)

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
    return run_command("tfgen.fit", *args)


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
        result = run_fit("--config", str(REPO / "configs" / "vae_mnist.yaml"), "--dry-run")
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


# Hyper-parameters ---------------------------------------------------------------------

# Every family's model takes its hyper-parameters from its config class.
PARAM_FAMILIES = tuple(models.names())
# Small sizes, so that every family builds in a moment; the other hyper-parameters get
# a non-default value by `_non_default`.
TINY = {
    "cgan": {"latent_dim": 4, "filters": 2, "augment": "translation"},
    "char_lstm": {"context_length": 8, "embedding_dim": 4, "units": 4, "num_layers": 1},
    "dcgan": {"latent_dim": 4, "filters": 2, "augment": "translation"},
    "gpt": {"context_length": 8, "n_layer": 1, "n_head": 2, "n_embd": 4},
    "stylegan": {
        "resolution": 8,
        "latent_dim": 4,
        "w_dim": 4,
        "mapping_layers": 1,
        "channel_base": 32,
        "channel_max": 4,
        "mbstd_group_size": 2,
        "augment": "translation",
    },
    "vae": {"latent_dim": 3, "filters": 2},
    "wgan_gp": {"latent_dim": 4, "filters": 2, "augment": "translation"},
}


def _candidates(config_class, name, default):
    """Values other than `default` that a hyper-parameter may take, by its type."""
    allowed = config_lib.field_metadata(config_class, name).get("choices")
    if allowed:
        return [value for value in allowed if value != default]
    if isinstance(default, bool):
        return [not default]
    if isinstance(default, int):
        return [default + 1, default + 2]
    if isinstance(default, float):
        return [default / 2 if default else 0.5]
    return []


def _tiny_config(name):
    """A resolved config of family `name` with every hyper-parameter off its default."""
    config_class = models.get(name).config_class
    values = {"model": name, **TINY[name]}
    defaults = config_lib.params_of(config_class())
    for key, default in defaults.items():
        for value in [] if key in values else _candidates(config_class, key, default):
            try:
                config_lib.resolve(config_class, {**values, key: value})
            except config_lib.ConfigError:
                continue
            values[key] = value
            break
        else:
            if key not in values:
                raise AssertionError(f"{name}: give {key} a non-default value in TINY")
    return config_lib.resolve(config_class, values)


def _build(name, config, **params):
    """`from_run_config`'s arguments for a tiny dataset, and the model (with `params`)."""
    from tfgen.data.info import DatasetInfo
    from tfgen.text import CharTokenizer

    model_class = models.get(name)
    if issubclass(model_class, models.LanguageModel):
        info = DatasetInfo(name="tiny", modality="text", shape=None, value_range=None)
        kwargs = {"tokenizer": CharTokenizer(list("abc"))}
    else:
        labels = getattr(config, "num_classes", 0) or 3
        info = DatasetInfo(name="tiny", modality="image", shape=(8, 8, 1), num_classes=labels)
        kwargs = {}
    arguments = model_class.run_arguments(config, info, steps_per_epoch=3, **kwargs)
    if params:
        return model_class(**arguments, **params)
    return model_class.from_run_config(config, info, steps_per_epoch=3, **kwargs)


class HyperParameterTest(tf.test.TestCase):
    """A hyper-parameter is one `param` field of the config: the model follows it."""

    def test_every_hyper_parameter_reaches_the_model_and_its_config(self):
        for name in PARAM_FAMILIES:
            with self.subTest(model=name):
                model_class = models.get(name)
                config_class = model_class.config_class
                params = config_lib.param_names(config_class)
                self.assertNotEqual(params, [])
                config = _tiny_config(name)
                model = _build(name, config)
                saved = model.get_config()
                for key in params:
                    self.assertEqual(saved[key], getattr(config, key), key)
                self.assertEqual(model.params, config_lib.params_of(config))
                again = model_class.from_config(saved)
                self.assertEqual(again.get_config(), saved)

    def test_model_defaults_are_the_config_defaults(self):
        for name in PARAM_FAMILIES:
            with self.subTest(model=name):
                config_class = models.get(name).config_class
                config = config_lib.resolve(config_class, {"model": name})
                sizes = {
                    k: v for k, v in TINY[name].items() if k in config_lib.param_names(config_class)
                }
                model = _build(name, _tiny_config(name), **sizes)
                expected = {**config_lib.params_of(config), **sizes}
                self.assertEqual(model.params, expected)

    def test_model_and_config_refuse_a_bad_value_with_the_same_message(self):
        for name in PARAM_FAMILIES:
            config_class = models.get(name).config_class
            config = _tiny_config(name)
            for key, default in config_lib.params_of(config_class()).items():
                bad_values = ["a word"] if not isinstance(default, str) else []
                bad_values += [-1] if isinstance(default, (int, float)) else ["no such value"]
                for bad in bad_values:
                    try:
                        config_lib.resolve(config_class, {"model": name, key: bad})
                    except config_lib.ConfigError as error:
                        expected = str(error)
                    else:
                        continue  # The config allows it; so does the model.
                    with self.subTest(model=name, key=key, value=bad):
                        with self.assertRaises(config_lib.ConfigError) as raised:
                            _build(name, config, **{key: bad})
                        self.assertEqual(str(raised.exception), expected)
