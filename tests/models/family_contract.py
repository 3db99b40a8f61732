"""The contract every model family passes; a family's test case mixes `FamilyContract` in.

Not collected by itself (no `test_` prefix). A test case sets `family` (its name in
`tfgen.models.MODELS`) and `config_values` (the tiny hyper-parameters), and may
override `write_dataset` (tiny data: 8x8 `npz:` images by default), `signature_inputs`
(values for export inputs that random noise does not fit) and `samples` (what
`.keras` save/load must keep). Models are built only the way the fit loop builds
them: `tfgen.config.resolve(config_class, ...)`, `from_run_config`,
`compile_from_run_config`, `build_optimizers`, inside the strategy's scope.

Every test reads one model, trained one step on one replica in `setUpClass` (so its
weights are no initializer's), and one SavedModel exported from it (shared by the
export and the TFLite tests).
"""

import shutil
import tempfile
from pathlib import Path

import keras
import numpy as np
import support
import tensorflow as tf

import tfgen.models  # Registers the families' classes with Keras for `load_model`.
from tfgen import config as config_lib
from tfgen import serving
from tfgen.distribute import make_strategy, shard_by_examples
from tfgen.training import run_data

BATCH = 4  # Global batch of the training step (2 examples per replica with 2).
SIGNATURE_BATCH = 2  # Batch of the inputs the export tests feed.
# Keys every tiny run shares: one epoch of one step, a constant learning rate (a
# warm-up would start at 0 and the step would change nothing).
RUN_VALUES = dict(batch_size=BATCH, epochs=1, steps_per_epoch=1, seed=3, lr_schedule="constant")
# Adam divides the step by the root of its second moment, so a loss scaled by the
# replica count (the classic strategy bug) would move the weights the same. With an
# epsilon this large, coordinates with small gradients move in proportion to them.
LINEAR_EPSILON = 1e-3
# Export inputs by name, where random noise would be out of range (one value for
# every row where the signature's input is batched).
IMAGE_SIGNATURE_INPUTS = {"num": SIGNATURE_BATCH, "seed": 7}


def weights(model):
    return [v.numpy() for v in model.weights]


class FamilyContract:
    family = None  # The name in `tfgen.models.MODELS`.
    config_values = None  # Tiny family keys for `tfgen.config.resolve`.
    num_classes = None  # Labels of the tiny image data (for class-conditional families).
    signature_inputs = IMAGE_SIGNATURE_INPUTS
    tflite_atol = 1e-4

    # Set-up -------------------------------------------------------------------------

    @classmethod
    def write_dataset(cls, directory):
        """Writes the tiny data into `directory`; returns the `dataset` config value."""
        path = support.write_npz(directory, train=8, test=4, num_classes=cls.num_classes)
        return f"npz:{path}"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Grappler's rewrites take about half the time of these one-step graphs; the
        # contract compares replica counts under the same setting, restored afterwards.
        previous = tf.config.optimizer.get_experimental_options()
        tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
        cls.addClassCleanup(
            tf.config.optimizer.set_experimental_options,
            {**previous, "disable_meta_optimizer": previous.get("disable_meta_optimizer", False)},
        )
        cls.tmp = Path(tempfile.mkdtemp(prefix=f"contract-{cls.family}-"))
        cls.addClassCleanup(shutil.rmtree, cls.tmp, ignore_errors=True)
        cls.model_class = tfgen.models.get(cls.family)
        cls.config = config_lib.resolve(
            cls.model_class.config_class,
            {
                "model": cls.family,
                "dataset": cls.write_dataset(cls.tmp),
                **RUN_VALUES,
                **cls.config_values,
            },
        )
        # The fit loop's own data adapter: its batches (per-example seeds, windows) and
        # the model-constructor arguments it adds (a language model's tokenizer).
        cls.data = run_data.prepare(cls.config, cls.tmp / "run")
        cls.initial, cls.model, cls.history = cls.train_one_step(tf.distribute.get_strategy())
        cls._export_dir = None

    @classmethod
    def build(cls, strategy):
        """The model of `cls.config`, built, compiled and with optimizer slots, as the fit
        loop builds it."""
        config, steps = cls.config, cls.data.steps
        keras.utils.set_random_seed(config.seed)
        with strategy.scope():
            model = cls.model_class.from_run_config(
                config, cls.data.info, steps_per_epoch=steps, **cls.data.model_kwargs
            )
            model.compile_from_run_config(config, jit_compile=False, steps_per_epoch=steps)
            for optimizer in model.optimizers().values():
                if hasattr(optimizer, "epsilon"):
                    optimizer.epsilon = LINEAR_EPSILON
            model.build_optimizers()
        return model

    @classmethod
    def train_one_step(cls, strategy):
        """`(initial weights, model, history)` after one `fit` step under `strategy`."""
        model = cls.build(strategy)
        initial = weights(model)
        batches = shard_by_examples(cls.data.train_batches(0))
        history = model.fit(batches, epochs=1, steps_per_epoch=1, verbose=0).history
        return initial, model, history

    @classmethod
    def export_dir(cls):
        """The SavedModel of `cls.model` (exported on first use, then shared)."""
        if cls._export_dir is None:
            cls._export_dir = serving.export_saved_model(cls.model, cls.tmp / "export", cls.family)
        return cls._export_dir

    def samples(self, model):
        """What a model of the family draws from a fixed seed (images by default)."""
        return {"images": model.sample_images(4, seed=0)}

    def inputs_for(self, specs):
        """`{name: tensor}` for a signature's input specs: seeded noise, except the
        inputs named in `signature_inputs`."""
        given = {name: v for name, v in self.signature_inputs.items() if name in specs}
        noise = {name: spec for name, spec in specs.items() if name not in given}
        arrays = serving.random_inputs(noise, batch_size=SIGNATURE_BATCH, seed=0)
        for name, value in given.items():
            value = np.asarray(value, specs[name].dtype.as_numpy_dtype)
            if specs[name].shape.rank == 1 and value.ndim == 0:
                value = np.full([SIGNATURE_BATCH], value)
            arrays[name] = value
        return {name: tf.constant(value, specs[name].dtype) for name, value in arrays.items()}

    def assert_outputs_equal(self, actual, expected, atol=1e-5):
        self.assertEqual(sorted(actual), sorted(expected))
        for key in expected:
            a, b = np.asarray(actual[key]), np.asarray(expected[key])
            if a.dtype.kind in "OSU":
                self.assertAllEqual(a, b, msg=key)
            else:
                self.assertAllClose(a, b, atol=atol, rtol=1e-5, msg=key)

    # (a) get_config --------------------------------------------------------------

    def test_get_config_round_trip(self):
        clone = support.assert_config_round_trip(self, self.model)
        self.assertIsInstance(clone, self.model_class)
        self.assertEqual(
            [tuple(v.shape) for v in clone.weights], [tuple(v.shape) for v in self.model.weights]
        )

    # (b) .keras files --------------------------------------------------------------

    def test_keras_file_keeps_weights_and_samples(self):
        loaded = support.save_and_load(self.model, self.create_tempdir().full_path)
        self.assertIsInstance(loaded, self.model_class)
        self.assertEqual(loaded.get_config(), self.model.get_config())
        mine, theirs = weights(self.model), weights(loaded)
        self.assertLen(theirs, len(mine))
        for a, b in zip(mine, theirs):
            self.assertAllEqual(a, b)
        self.assert_outputs_equal(self.samples(loaded), self.samples(self.model), atol=1e-6)

    # (c) replicas ----------------------------------------------------------------

    def test_one_step_on_two_replicas_equals_one_replica(self):
        strategy = make_strategy("mirrored", 2)
        initial, two, history = self.train_one_step(strategy)
        self.assertEqual(two.distribute_strategy.num_replicas_in_sync, 2)
        for a, b in zip(self.initial, initial):
            self.assertAllEqual(a, b)  # The same start: the step is all that differs.
        one = weights(self.model)
        moved = [not np.allclose(a, b) for a, b in zip(self.initial, one)]
        self.assertGreater(sum(moved), 0, "the step changed no weight")
        for variable, a, b in zip(self.model.weights, one, weights(two)):
            self.assertAllClose(a, b, atol=1e-5, rtol=1e-4, msg=variable.path)
        self.assertEqual(sorted(history), sorted(self.history))
        for key in self.history:
            self.assertAllClose(history[key], self.history[key], atol=1e-5, rtol=1e-4, msg=key)

    # (d) SavedModel signatures ------------------------------------------------------

    def test_every_export_endpoint_traces_and_runs(self):
        endpoints = self.model.export_endpoints()
        loaded = tf.saved_model.load(str(self.export_dir()))
        self.assertEqual(set(loaded.signatures), {*endpoints, serving.SERVING_DEFAULT})
        for name, function in endpoints.items():
            with self.subTest(signature=name):
                signature = loaded.signatures[name]
                inputs = self.inputs_for(signature.structured_input_signature[1])
                outputs = signature(**inputs)
                for key, value in outputs.items():
                    self.assertEqual(value.shape[0], SIGNATURE_BATCH, key)
                    if value.dtype.is_floating:
                        self.assertTrue(np.all(np.isfinite(value.numpy())), key)
                # The SavedModel computes what the model's own function does.
                direct = function(*[inputs[spec.name] for spec in function.input_signature])
                self.assert_outputs_equal(outputs, direct)
        default = loaded.signatures[serving.SERVING_DEFAULT]
        declared = loaded.signatures[self.model.serving_default]
        self.assertEqual(default.structured_input_signature, declared.structured_input_signature)

    # (e) TFLite ----------------------------------------------------------------------

    def test_tflite_endpoints_convert_and_match_the_saved_model(self):
        endpoints = tuple(self.model.tflite_endpoints)
        self.assertNotEmpty(endpoints, "the family declares no TFLite endpoint")
        out_dir = self.create_tempdir().full_path
        paths = serving.write_tflite_files(self.export_dir(), endpoints, ["float32"], out_dir)
        self.assertEqual([p.name for p in paths], [f"{e}.float32.tflite" for e in endpoints])
        parities = serving.tflite_parity(
            self.export_dir(), paths, batch_size=SIGNATURE_BATCH, seed=0
        )
        for path, parity in parities.items():
            self.assertLess(parity.max_abs, self.tflite_atol, path.name)  # NaN fails too.
