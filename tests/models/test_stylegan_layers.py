"""StyleGAN2 layers: get_config round trips and the maths of each layer."""

import math

import numpy as np
import tensorflow as tf
from support import assert_config_round_trip

from tfgen.models.stylegan import (
    EqualizedConv2D,
    EqualizedDense,
    MappingNetwork,
    MinibatchStdDev,
    ModulatedConv2D,
    NoiseInjection,
    ResidualBlock,
    StyleGANDiscriminator,
    StyleGANGenerator,
    StyleGANSynthesis,
    SynthesisLayer,
    ToRGB,
)
from tfgen.models.stylegan.generator import num_style_inputs


class ConfigRoundTripTest(tf.test.TestCase):
    def test_every_layer_round_trips(self):
        for layer in (
            EqualizedDense(3, lr_multiplier=0.01, bias_init=1.0, activation="lrelu"),
            EqualizedConv2D(3, 1, down=True, use_bias=False),
            ModulatedConv2D(3, 1, demodulate=False, up=True),
            ToRGB(3),
            NoiseInjection(seed=4),
            MappingNetwork(4, 6, 2, num_classes=3),
            MinibatchStdDev(2, 2),
            SynthesisLayer(4, up=True),
            ResidualBlock(2, 4),
            StyleGANSynthesis(4, 8, 3, 32, 8),
            StyleGANGenerator(4, 4, 8, 1, 2, 32, 8, 3),
            StyleGANDiscriminator(8, 3, 32, 8, num_classes=2, mbstd_group_size=2),
        ):
            with self.subTest(layer=type(layer).__name__):
                assert_config_round_trip(self, layer)


class EqualizedTest(tf.test.TestCase):
    def test_weights_are_scaled_at_run_time(self):
        layer = EqualizedDense(2, lr_multiplier=0.01, bias_init=1.0)
        x = tf.random.stateless_normal([3, 16], seed=[1, 2])
        y = layer(x)
        # Stored N(0, 1/lr²) and bias/lr; applied times lr/sqrt(fan_in) and lr.
        self.assertNear(float(np.std(layer.kernel.numpy())), 100.0, 30.0)
        self.assertAllClose(layer.bias.numpy(), [100.0, 100.0])
        expected = x.numpy() @ layer.kernel.numpy() * (0.01 / 4.0) + 1.0
        self.assertAllClose(y, expected, rtol=1e-5, atol=1e-5)

    def test_conv_scales_by_he_constant_and_lrelu_gain(self):
        conv = EqualizedConv2D(2, 3, activation="lrelu")
        x = tf.random.stateless_normal([1, 5, 5, 4], seed=[0, 1])
        y = conv(x)
        plain = tf.nn.conv2d(x, conv.kernel / math.sqrt(4 * 9), 1, "SAME")
        self.assertAllClose(y, tf.nn.leaky_relu(plain, 0.2) * math.sqrt(2.0), atol=1e-5)
        self.assertEqual(EqualizedConv2D(2, 3, down=True)(x).shape, (1, 2, 2, 2))

    def test_downsampling_conv_is_conv_then_average_pool(self):
        # The layer runs one stride-2 convolution with the pooled kernel; the function is
        # the 'same' convolution followed by 2x2 average pooling, borders included.
        x = tf.random.stateless_normal([2, 8, 8, 3], seed=[3, 4])
        for kernel_size in (1, 3):
            conv = EqualizedConv2D(5, kernel_size, down=True, activation="lrelu")
            conv.build(x.shape)
            conv.bias.assign(tf.range(5, dtype=tf.float32))
            plain = tf.nn.conv2d(x, conv.kernel / math.sqrt(3 * kernel_size**2), 1, "SAME")
            expected = tf.nn.avg_pool2d(plain, 2, 2, "VALID") + conv.bias
            self.assertAllClose(
                conv(x), tf.nn.leaky_relu(expected, 0.2) * math.sqrt(2.0), atol=1e-5
            )


class ModulatedConvTest(tf.test.TestCase):
    def test_demodulated_outputs_have_unit_variance_for_unit_inputs(self):
        conv = ModulatedConv2D(16, 3)
        x = tf.random.stateless_normal([4, 34, 34, 32], seed=[0, 0])
        w = tf.random.stateless_normal([4, 8], seed=[0, 1]) * 3.0  # Styles far from 1.
        y = conv(x, w)[:, 1:-1, 1:-1]  # Interior pixels: no zero padding.
        variance = tf.math.reduce_variance(y, axis=[1, 2])  # Per example and channel.
        self.assertAllClose(variance, tf.ones_like(variance), atol=0.12)
        unnormalized = ModulatedConv2D(16, 3, demodulate=False)(x, w)
        self.assertNotAllClose(tf.math.reduce_variance(unnormalized), 1.0, atol=0.3)

    def test_equals_a_per_example_convolution_with_modulated_weights(self):
        conv = ModulatedConv2D(3, 3)
        x = tf.random.stateless_normal([2, 5, 5, 4], seed=[1, 1])
        w = tf.random.stateless_normal([2, 6], seed=[1, 2])
        y = conv(x, w)
        styles = conv.styles(w).numpy()
        for example in range(2):
            weight = conv.kernel.numpy() * styles[example][None, None, :, None]
            weight /= np.sqrt(np.sum(weight**2, axis=(0, 1, 2), keepdims=True) + 1e-8)
            expected = tf.nn.conv2d(x[example : example + 1], weight, 1, "SAME")
            self.assertAllClose(y[example : example + 1], expected, atol=1e-5)

    def test_upsampling_and_to_rgb_skip(self):
        x, w = tf.ones([2, 4, 4, 3]), tf.ones([2, 5])
        self.assertEqual(ModulatedConv2D(2, 3, up=True)(x, w).shape, (2, 8, 8, 2))
        to_rgb = ToRGB(3)
        skip = tf.random.stateless_normal([2, 2, 2, 3], seed=[0, 3])
        with_skip = to_rgb(x, w, skip=skip)
        self.assertAllClose(with_skip - to_rgb(x, w), tf.image.resize(skip, [4, 4]), atol=1e-5)


class NoiseInjectionTest(tf.test.TestCase):
    def test_noise_is_scaled_per_channel_and_deterministic(self):
        layer = NoiseInjection()
        x = tf.zeros([2, 3, 3, 2])
        noise = tf.random.stateless_normal([2, 3, 3, 1], seed=[0, 0])
        self.assertAllClose(layer(x, noise=noise), x)  # Strength starts at 0.
        layer.strength.assign([0.5, -2.0])
        self.assertAllClose(layer(x, noise=noise), noise * [0.5, -2.0])
        seeds = tf.constant([[0, 1], [0, 2]], tf.int64)
        both = layer(x, seeds=seeds)
        self.assertAllClose(both, layer(x, seeds=seeds))
        self.assertAllClose(both[1:], layer(x[1:], seeds=seeds[1:]))  # Independent of the batch.
        self.assertNotAllClose(both[0], both[1])


class MappingNetworkTest(tf.test.TestCase):
    def test_lr_multiplier_truncation_and_w_avg(self):
        mapping = MappingNetwork(4, 6, num_layers=3, num_classes=3)
        self.assertEqual(len(mapping.dense_layers), 3)
        self.assertTrue(all(layer.lr_multiplier == 0.01 for layer in mapping.dense_layers))
        z = tf.random.stateless_normal([5, 4], seed=[2, 0])
        labels = tf.constant([0, 1, 2, 0, 1])
        w = mapping(z, labels=labels)
        self.assertEqual(w.shape, (5, 6))
        self.assertNotAllClose(w, mapping(z, labels=labels[::-1]))
        mapping.update_w_avg(w)
        self.assertAllClose(mapping.w_avg, 0.005 * tf.reduce_mean(w, 0), atol=1e-6)
        for row in tf.unstack(mapping(z, labels=labels, truncation_psi=0.0)):
            self.assertAllClose(row, mapping.w_avg)
        self.assertAllClose(
            mapping(z, labels=labels, truncation_psi=0.5), 0.5 * (w + mapping.w_avg), atol=1e-6
        )
        with self.assertRaisesRegex(ValueError, "class-conditional"):
            mapping(z)


class MinibatchStdDevTest(tf.test.TestCase):
    def test_matches_numpy(self):
        x = np.random.default_rng(0).normal(size=(8, 3, 3, 4)).astype("float32")
        y = MinibatchStdDev(group_size=4, num_channels=2)(x).numpy()
        self.assertEqual(y.shape, (8, 3, 3, 6))
        self.assertAllClose(y[..., :4], x)
        groups = x.reshape(2, 4, 3, 3, 2, 2)  # Consecutive examples; channel groups of 2.
        std = np.sqrt(groups.var(axis=1) + 1e-8).mean(axis=(1, 2, 4))  # [groups, 2]
        expected = np.repeat(std, 4, axis=0)
        self.assertAllClose(y[:, 0, 0, 4:], expected, atol=1e-5)
        self.assertAllClose(y[:, 2, 1, 4:], expected, atol=1e-5)

    def test_group_size_divides_any_batch(self):
        layer = MinibatchStdDev(group_size=4)
        self.assertEqual(int(layer.group_size_for(tf.constant(6))), 3)
        self.assertEqual(layer(tf.random.normal([7, 2, 2, 3])).shape, (7, 2, 2, 4))


class NetworksTest(tf.test.TestCase):
    def test_shapes_style_inputs_and_bad_resolution(self):
        generator = StyleGANGenerator(4, 4, 16, 3, 2, 64, 8)
        self.assertEqual(generator.num_ws, num_style_inputs(16))
        self.assertEqual(generator.num_ws, 6)
        images = generator(tf.ones([2, 4]))
        self.assertEqual(images.shape, (2, 16, 16, 3))
        self.assertEqual(StyleGANDiscriminator(16, 3, 64, 8)(images).shape, (2,))
        for bad in (4, 30, 512):
            with self.assertRaisesRegex(
                ValueError,
                r"power of two from 8 to 256 \(8, 16, 32, "
                r"64, 128, 256\), got " + str(bad),
            ):
                StyleGANGenerator(resolution=bad)
            with self.assertRaisesRegex(ValueError, "power of two from 8 to 256"):
                StyleGANDiscriminator(resolution=bad)

    def test_mixing_and_crossover_range(self):
        generator = StyleGANGenerator(4, 4, 8, 1, 2, 32, 8)
        ws, other = tf.zeros([2, 4, 4]), tf.ones([2, 4, 4])
        self.assertAllEqual(generator.mix(ws, other, 4), ws)
        self.assertAllEqual(generator.mix(ws, other, 0), other)
        mixed = generator.mix(ws, other, tf.constant([1, 3]))
        self.assertAllEqual(mixed[:, :, 0], [[0, 1, 1, 1], [0, 0, 0, 1]])
        for bad in (-1, 5):
            with self.assertRaisesRegex(ValueError, "crossover must be a layer index from 0 to 4"):
                generator.check_crossover(bad)
