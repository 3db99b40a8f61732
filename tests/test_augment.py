"""DiffAugment: per-example seeding, the official transformations, gradients, XLA."""

import numpy as np
import tensorflow as tf

from tfgen.models.gan import augment
from tfgen.models.gan.augment import diff_augment
from tfgen.ops.noise import per_example_uniform

ALL = "color,translation,cutout"


def example_seeds(count, start=0):
    """Per-example seeds shaped like the training pipeline's: [run seed, index]."""
    return tf.stack(
        [
            tf.fill([count], tf.constant(7, tf.int64)),
            tf.range(start, start + count, dtype=tf.int64),
        ],
        axis=1,
    )


def random_images(shape, seed=0):
    return tf.random.stateless_uniform(shape, seed=[seed, 1], minval=-1.0, maxval=1.0)


class ParsePolicyTest(tf.test.TestCase):
    def test_accepted_forms(self):
        self.assertEqual(augment.parse_policy(None), ())
        self.assertEqual(augment.parse_policy(""), ())
        self.assertEqual(augment.parse_policy([]), ())
        self.assertEqual(augment.parse_policy(ALL), ("color", "translation", "cutout"))
        self.assertEqual(augment.parse_policy(" Cutout , color,"), ("cutout", "color"))
        self.assertEqual(augment.parse_policy(["translation"]), ("translation",))

    def test_unknown_name(self):
        with self.assertRaisesRegex(ValueError, "'colour'.*color, translation, cutout"):
            augment.parse_policy("colour,cutout")
        with self.assertRaisesRegex(ValueError, "'flip'"):
            diff_augment(tf.zeros([1, 8, 8, 1]), ["flip"], example_seeds(1))

    def test_repeated_name(self):
        with self.assertRaisesRegex(ValueError, "'cutout' is given twice"):
            augment.parse_policy("cutout,color,cutout")


class PerExampleUniformTest(tf.test.TestCase):
    def test_each_row_comes_from_its_own_seed(self):
        seeds = example_seeds(3)
        draws = per_example_uniform(seeds, [2], minval=-1.0, maxval=3.0)
        self.assertEqual(draws.shape, [3, 2])
        for i in range(3):
            self.assertAllEqual(
                draws[i], tf.random.stateless_uniform([2], seed=seeds[i], minval=-1.0, maxval=3.0)
            )
        self.assertAllEqual(per_example_uniform(seeds[1:], [2], -1.0, 3.0), draws[1:])

    def test_integers(self):
        draws = per_example_uniform(example_seeds(64), [], minval=2, maxval=5, dtype=tf.int32)
        self.assertEqual(set(draws.numpy()), {2, 3, 4})


class SeedingTest(tf.test.TestCase):
    def test_empty_policy_is_identity(self):
        images = random_images([2, 8, 8, 3])
        self.assertIs(diff_augment(images, "", example_seeds(2)), images)
        self.assertIs(diff_augment(images, None, example_seeds(2)), images)

    def test_same_seeds_same_result_other_seeds_differ(self):
        images = random_images([4, 16, 16, 3])
        first = diff_augment(images, ALL, example_seeds(4))
        self.assertAllEqual(first, diff_augment(images, ALL, example_seeds(4)))
        other = diff_augment(images, ALL, example_seeds(4, start=100))
        for i in range(4):
            self.assertNotAllClose(first[i], other[i])

    def test_batch_split_invariance(self):
        images = random_images([6, 16, 12, 3])
        seeds = example_seeds(6)
        whole = diff_augment(images, ALL, seeds)
        halves = tf.concat(
            [diff_augment(images[:2], ALL, seeds[:2]), diff_augment(images[2:], ALL, seeds[2:])],
            axis=0,
        )
        self.assertAllEqual(whole, halves)

    def test_examples_with_equal_images_differ(self):
        images = tf.repeat(random_images([1, 16, 16, 1]), 4, axis=0)
        out = diff_augment(images, ALL, example_seeds(4)).numpy()
        for i in range(1, 4):
            self.assertNotAllClose(out[0], out[i])

    def test_draws_are_independent_of_unsalted_draws_from_the_same_seeds(self):
        seeds = example_seeds(3)
        plain = tf.map_fn(
            lambda s: tf.random.stateless_uniform([7], seed=s),
            seeds,
            fn_output_signature=tf.float32,
        )
        self.assertNotAllClose(augment.augment_draws(seeds), plain)

    def test_int32_seeds(self):
        images = random_images([2, 8, 8, 1])
        out = diff_augment(images, ALL, tf.constant([[1, 2], [3, 4]], tf.int32))
        self.assertEqual(out.shape, images.shape)


def one_hot_images(count, height, width, row, col):
    image = np.zeros([height, width, 1], np.float32)
    image[row, col] = 1.0
    return tf.constant(np.repeat(image[None], count, axis=0))


class TranslationTest(tf.test.TestCase):
    def test_moves_a_pixel_by_whole_steps_within_an_eighth(self):
        count, height, width = 64, 24, 16  # shifts up to 3 rows and 2 columns
        images = one_hot_images(count, height, width, row=12, col=8)
        out = diff_augment(images, "translation", example_seeds(count)).numpy()
        row_shifts, col_shifts = set(), set()
        for image in out:
            self.assertEqual(np.count_nonzero(image), 1)
            self.assertEqual(image.sum(), 1.0)
            row, col, _ = np.argwhere(image)[0]
            row_shifts.add(row - 12)
            col_shifts.add(col - 8)
        # every allowed shift occurs among 64 examples, and nothing beyond them
        self.assertEqual(row_shifts, set(range(-3, 4)))
        self.assertEqual(col_shifts, set(range(-2, 3)))

    def test_pixels_at_the_edge_can_drop_off(self):
        count = 32
        images = one_hot_images(count, 16, 16, row=0, col=15)
        out = diff_augment(images, "translation", example_seeds(count)).numpy()
        kept = [image.sum() for image in out]
        self.assertIn(0.0, kept)
        self.assertIn(1.0, kept)
        self.assertTrue(set(kept) <= {0.0, 1.0})

    def test_content_is_shifted_not_resampled(self):
        images = random_images([8, 16, 16, 3])
        out = diff_augment(images, "translation", example_seeds(8)).numpy()
        images = images.numpy()
        for image, shifted in zip(images, out):
            nonzero = shifted[np.any(shifted != 0, axis=-1)]
            # every surviving pixel is an original pixel
            originals = {tuple(p) for p in image.reshape(-1, 3)}
            self.assertTrue(all(tuple(p) in originals for p in nonzero))


class CutoutTest(tf.test.TestCase):
    def check_cutout(self, height, width, count=48):
        images = tf.ones([count, height, width, 2])
        out = diff_augment(images, "cutout", example_seeds(count)).numpy()
        self.assertTrue(np.all(out[..., 0] == out[..., 1]))  # all channels alike
        length_rows, length_cols = height // 2, width // 2
        clipped = 0
        for image in out[..., 0]:
            self.assertTrue(set(np.unique(image)) <= {0.0, 1.0})
            rows = np.flatnonzero((image == 0).any(axis=1))
            cols = np.flatnonzero((image == 0).any(axis=0))
            # the zeros form exactly the rectangle rows x cols, each contiguous
            self.assertEqual(np.count_nonzero(image == 0), len(rows) * len(cols))
            self.assertEqual(rows[-1] - rows[0] + 1, len(rows))
            self.assertEqual(cols[-1] - cols[0] + 1, len(cols))
            for band, length, size in ((rows, length_rows, height), (cols, length_cols, width)):
                touches_border = band[0] == 0 or band[-1] == size - 1
                if len(band) < length:
                    clipped += 1
                    self.assertTrue(touches_border)
                    # the centre stays inside the image, so at least half remains
                    self.assertGreaterEqual(len(band), length - length // 2)
                else:
                    self.assertEqual(len(band), length)
        self.assertGreater(clipped, 0)

    def test_square_of_half_the_size(self):
        self.check_cutout(16, 16)

    def test_non_square_odd_sizes(self):
        self.check_cutout(13, 10)

    def test_every_position_matches_the_official_scatter(self):
        # The official code scatters ones at the square's coordinates, each
        # clipped into the image, then zeros the image there.
        height, width = 13, 10
        length_rows, length_cols = height // 2, width // 2
        centres = [
            (r, c)
            for r in range(height + 1 - length_rows % 2)
            for c in range(width + 1 - length_cols % 2)
        ]
        expected = np.ones([len(centres), height, width, 1], np.float32)
        for b, (r, c) in enumerate(centres):
            for i in range(length_rows):
                for j in range(length_cols):
                    row = min(max(r + i - length_rows // 2, 0), height - 1)
                    col = min(max(c + j - length_cols // 2, 0), width - 1)
                    expected[b, row, col] = 0.0
        counts = (height + 1 - length_rows % 2, width + 1 - length_cols % 2)
        uniform_rows = tf.constant([(r + 0.5) / counts[0] for r, _ in centres])
        uniform_cols = tf.constant([(c + 0.5) / counts[1] for _, c in centres])
        out = augment._cutout(tf.ones_like(expected), uniform_rows, uniform_cols)
        self.assertAllEqual(out, expected)

    def test_band_positions_match_the_official_code(self):
        # size 8: length 4; centres 0..8 -> start = centre - 2
        uniform = tf.constant([0.0, 0.5, 0.999])
        bands = augment._cutout_band(uniform, tf.constant(8)).numpy().astype(int)
        self.assertAllEqual(
            bands,
            [
                [1, 1, 0, 0, 0, 0, 0, 0],  # centre 0: rows -2..1
                [0, 0, 1, 1, 1, 1, 0, 0],  # centre 4: rows 2..5
                [0, 0, 0, 0, 0, 0, 1, 1],
            ],
        )  # centre 8: rows 6..9


class ColorTest(tf.test.TestCase):
    def test_constant_gray_images_only_change_brightness(self):
        images = tf.fill([16, 6, 6, 3], 0.25)
        out = diff_augment(images, "color", example_seeds(16)).numpy()
        offsets = out - 0.25
        for offset in offsets:
            self.assertAllClose(offset, np.full_like(offset, offset[0, 0, 0]), atol=1e-6)
        self.assertTrue(np.all(np.abs(offsets) <= 0.5))
        self.assertGreater(np.ptp(offsets[:, 0, 0, 0]), 0.3)  # offsets vary across examples

    def test_scales_deviations_like_the_official_code(self):
        images = random_images([16, 6, 5, 3]).numpy()
        out = diff_augment(tf.constant(images), "color", example_seeds(16)).numpy()
        # deviation from the channel mean: scaled by saturation * contrast in [0, 3)
        channel_ratio = (out - out.mean(-1, keepdims=True)) / (
            images - images.mean(-1, keepdims=True)
        )
        # deviation from the image mean of gray images: scaled by contrast in [0.5, 1.5)
        gray = images.mean(-1, keepdims=True)
        gray_out = diff_augment(tf.constant(gray), "color", example_seeds(16)).numpy()
        image_ratio = (gray_out - gray_out.mean((1, 2, 3), keepdims=True)) / (
            gray - gray.mean((1, 2, 3), keepdims=True)
        )
        for ratios, low, high in ((channel_ratio, 0.0, 3.0), (image_ratio, 0.5, 1.5)):
            per_image = ratios.reshape(16, -1)
            self.assertAllClose(
                per_image, np.repeat(per_image[:, :1], per_image.shape[1], 1), rtol=1e-3, atol=1e-3
            )
            self.assertTrue(np.all((per_image >= low) & (per_image < high)))
            self.assertGreater(np.ptp(per_image[:, 0]), 0.2)

    def test_gradient_flows_to_images(self):
        images = random_images([4, 8, 8, 3])
        for policy in ("color", "translation", "cutout", ALL):
            with tf.GradientTape() as tape:
                tape.watch(images)
                out = diff_augment(images, policy, example_seeds(4))
                total = tf.reduce_sum(out * tf.range(1.0, 4.0))
            gradient = tape.gradient(total, images)
            self.assertIsNotNone(gradient, policy)
            self.assertTrue(np.all(np.isfinite(gradient.numpy())), policy)
            self.assertGreater(float(tf.reduce_max(tf.abs(gradient))), 0.0, policy)
        self.assertNotAllClose(diff_augment(images, "color", example_seeds(4)), images)


class CompileTest(tf.test.TestCase):
    def test_tf_function_matches_eager(self):
        images = random_images([4, 10, 14, 1])
        seeds = example_seeds(4)
        compiled = tf.function(lambda x, s: diff_augment(x, ALL, s))
        self.assertAllEqual(compiled(images, seeds), diff_augment(images, ALL, seeds))

    def test_xla(self):
        images = random_images([4, 12, 12, 3])
        seeds = example_seeds(4)
        names = augment.parse_policy(ALL)

        @tf.function(jit_compile=True)
        def compiled(images, seeds, draws):
            return diff_augment(images, ALL, seeds), augment.apply_policy(images, names, draws)

        draws = augment.augment_draws(seeds)
        out, applied = compiled(images, seeds, draws)
        self.assertEqual(out.shape, images.shape)
        # one compilation: permuting the batch permutes the results (per-example seeds)
        permutation = [2, 0, 3, 1]
        permuted, _ = compiled(tf.gather(images, permutation), tf.gather(seeds, permutation), draws)
        self.assertAllEqual(permuted, tf.gather(out, permutation))
        # XLA's stateless RNG may draw other numbers than TF's kernels; given the
        # same draws, the transformations agree.
        self.assertAllClose(applied, augment.apply_policy(images, names, draws), atol=1e-5)
