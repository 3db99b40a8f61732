"""DCGAN training throughput: TensorFlow's DCGAN tutorial vs tfgen's `dcgan`, in one process.

The reference is the tutorial's own code (tensorflow.org/tutorials/generative/dcgan):
its generator and discriminator, its `@tf.function train_step` with two GradientTapes,
its input pipeline (`from_tensor_slices(...).shuffle(60000).batch(256)`), MNIST, batch
256. tfgen's candidates train the same networks through `model.fit` on tfgen's own
pipeline, with the levers listed in the table. Candidates alternate round by round,
so they see the same machine state; the table prints images/s and the ratio to the
tutorial.

    .venv/bin/python benchmarks/gan_throughput.py [--steps 8] [--rounds 3]
"""

import argparse
import time

import keras
import numpy as np
import tensorflow as tf
from common import best_of_rounds, cpu_model
from keras import layers

from tfgen import data as data_lib
from tfgen.models import DCGAN

BATCH_SIZE = 256
NOISE_DIM = 100


# The tutorial's code, verbatim apart from `keras.` for `tf.keras.` and explicit Inputs. ---------


def make_generator_model():
    model = keras.Sequential()
    model.add(keras.Input((NOISE_DIM,)))
    model.add(layers.Dense(7 * 7 * 256, use_bias=False))
    model.add(layers.BatchNormalization())
    model.add(layers.LeakyReLU())
    model.add(layers.Reshape((7, 7, 256)))
    model.add(layers.Conv2DTranspose(128, (5, 5), strides=(1, 1), padding="same", use_bias=False))
    model.add(layers.BatchNormalization())
    model.add(layers.LeakyReLU())
    model.add(layers.Conv2DTranspose(64, (5, 5), strides=(2, 2), padding="same", use_bias=False))
    model.add(layers.BatchNormalization())
    model.add(layers.LeakyReLU())
    model.add(
        layers.Conv2DTranspose(
            1, (5, 5), strides=(2, 2), padding="same", use_bias=False, activation="tanh"
        )
    )
    return model


def make_discriminator_model():
    model = keras.Sequential()
    model.add(keras.Input((28, 28, 1)))
    model.add(layers.Conv2D(64, (5, 5), strides=(2, 2), padding="same"))
    model.add(layers.LeakyReLU())
    model.add(layers.Dropout(0.3))
    model.add(layers.Conv2D(128, (5, 5), strides=(2, 2), padding="same"))
    model.add(layers.LeakyReLU())
    model.add(layers.Dropout(0.3))
    model.add(layers.Flatten())
    model.add(layers.Dense(1))
    return model


class Tutorial:
    """The tutorial's models, optimizers, train_step and dataset."""

    def __init__(self, train_images):
        self.generator = make_generator_model()
        self.discriminator = make_discriminator_model()
        self.cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)
        self.generator_optimizer = keras.optimizers.Adam(1e-4)
        self.discriminator_optimizer = keras.optimizers.Adam(1e-4)
        images = (train_images.reshape(-1, 28, 28, 1).astype("float32") - 127.5) / 127.5
        self.dataset = iter(
            tf.data.Dataset.from_tensor_slices(images).shuffle(60000).batch(BATCH_SIZE).repeat()
        )
        self.train_step = tf.function(self._train_step)

    def discriminator_loss(self, real_output, fake_output):
        real_loss = self.cross_entropy(tf.ones_like(real_output), real_output)
        fake_loss = self.cross_entropy(tf.zeros_like(fake_output), fake_output)
        return real_loss + fake_loss

    def generator_loss(self, fake_output):
        return self.cross_entropy(tf.ones_like(fake_output), fake_output)

    def _train_step(self, images):
        noise = tf.random.normal([BATCH_SIZE, NOISE_DIM])
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            generated_images = self.generator(noise, training=True)
            real_output = self.discriminator(images, training=True)
            fake_output = self.discriminator(generated_images, training=True)
            gen_loss = self.generator_loss(fake_output)
            disc_loss = self.discriminator_loss(real_output, fake_output)
        gradients_of_generator = gen_tape.gradient(gen_loss, self.generator.trainable_variables)
        gradients_of_discriminator = disc_tape.gradient(
            disc_loss, self.discriminator.trainable_variables
        )
        self.generator_optimizer.apply_gradients(
            zip(gradients_of_generator, self.generator.trainable_variables)
        )
        self.discriminator_optimizer.apply_gradients(
            zip(gradients_of_discriminator, self.discriminator.trainable_variables)
        )

    def run(self, steps):
        start = time.perf_counter()
        for _ in range(steps):
            self.train_step(next(self.dataset))
        return steps * BATCH_SIZE / (time.perf_counter() - start)


# tfgen's candidates --------------------------------------------------------------------------


class Tfgen:
    """tfgen's `dcgan` through `model.fit` on tfgen's training pipeline."""

    def __init__(self, train_examples, info, precision="float32", **compile_args):
        keras.utils.set_random_seed(0)
        self.model = DCGAN(image_shape=info.shape, precision=precision)
        self.model.compile(
            d_optimizer=keras.optimizers.Adam(1e-4),
            g_optimizer=keras.optimizers.Adam(1e-4),
            **compile_args,
        )
        self.model.build_optimizers()
        self.steps_per_call = compile_args.get("steps_per_execution", 1)
        batches, _ = data_lib.training_batches(train_examples, info, BATCH_SIZE, epochs=50)
        # The function `model.fit` calls per step (per `steps_per_execution` steps), on one
        # persistent iterator like the tutorial's loop: a fresh `fit` per round would refill
        # the 60,000-example shuffle buffer inside the timing.
        self.model.make_train_function()
        self.train_function = self.model.train_function
        self.batches = iter(batches)

    def run(self, steps):
        start = time.perf_counter()
        for _ in range(max(1, steps // self.steps_per_call)):
            logs = self.train_function(self.batches)
        float(logs["g_loss"])  # Wait for the last step to finish.
        return (
            max(1, steps // self.steps_per_call)
            * self.steps_per_call
            * BATCH_SIZE
            / (time.perf_counter() - start)
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8, help="timed steps per round (default 8)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the best is reported")
    parser.add_argument("--only", default="", help="comma-separated candidate names to run")
    args = parser.parse_args()

    train_examples, info = data_lib.load("mnist", "train")
    raw = np.round(np.stack([e["image"] for e in train_examples.as_numpy_iterator()]) * 255)
    candidates = {
        "tutorial (float32)": lambda: Tutorial(raw),
        "tfgen dcgan (float32)": lambda: Tfgen(train_examples, info),
        "tfgen dcgan (mixed_bfloat16)": lambda: Tfgen(train_examples, info, "mixed_bfloat16"),
        "tfgen dcgan (float32, XLA)": lambda: Tfgen(train_examples, info, jit_compile=True),
        "tfgen dcgan (float32, steps_per_execution=4)": lambda: Tfgen(
            train_examples, info, steps_per_execution=4
        ),
    }
    if args.only:
        wanted = {name.strip() for name in args.only.split(",")}
        candidates = {
            k: v for k, v in candidates.items() if k in wanted or k.startswith("tutorial")
        }
    built = {name: make().run for name, make in candidates.items()}
    best = best_of_rounds(built, args.rounds, args.steps, warmup_steps=4)

    reference = best["tutorial (float32)"]
    print(
        f"\nCPU: {cpu_model()}; TensorFlow {tf.__version__}; batch {BATCH_SIZE}; "
        f"best of {args.rounds} rounds of {args.steps} steps\n"
    )
    print(f"| {'candidate':<46} | images/s | vs tutorial |")
    print(f"| {'-' * 46} | -------: | ----------: |")
    for name, value in best.items():
        print(f"| {name:<46} | {value:8.0f} | {value / reference:10.2f}x |")


if __name__ == "__main__":
    main()
