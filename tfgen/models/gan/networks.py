"""The DCGAN generator and discriminator of TensorFlow's DCGAN tutorial, generalized.

With the defaults (`filters=64`, 28x28x1 images) these are exactly the tutorial's
networks (https://www.tensorflow.org/tutorials/generative/dcgan):

    generator:     Dense 7*7*256 -> BN -> LeakyReLU -> ConvT 128 (stride 1) -> BN -> LeakyReLU
                   -> ConvT 64 (stride 2) -> BN -> LeakyReLU -> ConvT C (stride 2) -> tanh
    discriminator: Conv 64 (stride 2) -> LeakyReLU -> Dropout -> Conv 128 (stride 2)
                   -> LeakyReLU -> Dropout -> Flatten -> Dense 1

Both take an optional class label: the generator concatenates a learned label
embedding to z, the discriminator adds a projection term
`<embed(y), features(x)>` (Miyato & Koyama 2018, https://arxiv.org/abs/1802.05637).
"""

import keras
from keras import layers

from tfgen.models.gan.per_example_dropout import PerExampleDropout
from tfgen.ops.noise import DiscriminatorStream, fold_in


def check_image_shape(image_shape):
    """Raises `ValueError` unless height and width divide by 4 (two stride-2 stages)."""
    height, width, _ = image_shape
    if height is None or width is None or height % 4 or width % 4:
        raise ValueError(
            f"the DCGAN networks need a fixed image height and width divisible by 4, got "
            f"{height}x{width}; resize the images (e.g. 28x28, 32x32, 64x64)"
        )


def _maybe_spectral(layer, spectral_norm):
    return layers.SpectralNormalization(layer) if spectral_norm else layer


@keras.saving.register_keras_serializable(package="tfgen")
class DCGANGenerator(keras.Model):
    """Maps latent codes `z` (and optional integer labels) to images in [-1, 1].

    Args:
        latent_dim: size of z.
        image_shape: `(height, width, channels)`; sides divisible by 4.
        filters: filters of the last upsampling stage; the stages before have
            2x and 4x as many (64 gives the tutorial's 256-128-64).
        num_classes: number of class labels for a conditional generator, or `None`.
        synchronized_batch_norm: compute batch-norm statistics over the global
            batch under a `tf.distribute` strategy (needed for replica invariance).
    """

    def __init__(
        self,
        latent_dim=100,
        image_shape=(28, 28, 1),
        filters=64,
        num_classes=None,
        synchronized_batch_norm=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_image_shape(image_shape)
        self.latent_dim = latent_dim
        self.image_shape = tuple(image_shape)
        self.filters = filters
        self.num_classes = num_classes
        self.synchronized_batch_norm = synchronized_batch_norm
        height, width, channels = self.image_shape

        def norm():
            return layers.BatchNormalization(synchronized=synchronized_batch_norm)

        self.label_embedding = (
            layers.Embedding(num_classes, latent_dim, name="label_embedding")
            if num_classes
            else None
        )
        self.body = keras.Sequential(
            [
                layers.Dense((height // 4) * (width // 4) * 4 * filters, use_bias=False),
                norm(),
                layers.LeakyReLU(0.3),
                layers.Reshape((height // 4, width // 4, 4 * filters)),
                layers.Conv2DTranspose(2 * filters, 5, strides=1, padding="same", use_bias=False),
                norm(),
                layers.LeakyReLU(0.3),
                layers.Conv2DTranspose(filters, 5, strides=2, padding="same", use_bias=False),
                norm(),
                layers.LeakyReLU(0.3),
                layers.Conv2DTranspose(
                    channels, 5, strides=2, padding="same", use_bias=False, activation="tanh"
                ),
            ],
            name="body",
        )
        self.body.build((None, 2 * latent_dim if num_classes else latent_dim))
        if self.label_embedding is not None:
            self.label_embedding.build((None,))
        self.built = True

    def call(self, z, labels=None, training=False):
        if self.label_embedding is not None:
            if labels is None:
                raise ValueError("this generator is class-conditional: pass `labels`")
            z = keras.ops.concatenate([z, self.label_embedding(labels)], axis=-1)
        return self.body(z, training=training)

    def get_config(self):
        return {
            **super().get_config(),
            "latent_dim": self.latent_dim,
            "image_shape": self.image_shape,
            "filters": self.filters,
            "num_classes": self.num_classes,
            "synchronized_batch_norm": self.synchronized_batch_norm,
        }


@keras.saving.register_keras_serializable(package="tfgen")
class DCGANDiscriminator(keras.Model):
    """Maps images in [-1, 1] (and optional labels) to one real-vs-fake logit each.

    Args:
        image_shape: `(height, width, channels)`; sides divisible by 4.
        filters: filters of the first stage; the second has twice as many.
        dropout: dropout rate after each stage. Given per-example `seeds`, each
            example's mask comes from its own seed, so a step does not depend on
            how the batch is split over replicas.
        spectral_norm: wrap every weight layer in `keras.layers.SpectralNormalization`
            (Miyato et al. 2018, https://arxiv.org/abs/1802.05957).
        num_classes: number of class labels for a projection discriminator, or `None`.
    """

    def __init__(
        self,
        image_shape=(28, 28, 1),
        filters=64,
        dropout=0.3,
        spectral_norm=False,
        num_classes=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_image_shape(image_shape)
        self.image_shape = tuple(image_shape)
        self.filters = filters
        self.dropout = dropout
        self.spectral_norm = spectral_norm
        self.num_classes = num_classes
        height, width, _ = self.image_shape
        feature_dim = (height // 4) * (width // 4) * 2 * filters
        self.conv1 = _maybe_spectral(
            layers.Conv2D(filters, 5, strides=2, padding="same"), spectral_norm
        )
        self.conv2 = _maybe_spectral(
            layers.Conv2D(2 * filters, 5, strides=2, padding="same"), spectral_norm
        )
        self.drop1 = PerExampleDropout(dropout)
        self.drop2 = PerExampleDropout(dropout)
        self.activation = layers.LeakyReLU(0.3)
        self.flatten = layers.Flatten()
        self.head = _maybe_spectral(layers.Dense(1), spectral_norm)
        self.projection = (
            _maybe_spectral(
                layers.Embedding(num_classes, feature_dim, name="projection"), spectral_norm
            )
            if num_classes
            else None
        )
        # Build every sub-layer now (Keras would otherwise trace the model on a data batch).
        self(
            keras.ops.zeros((1, *self.image_shape)),
            labels=keras.ops.zeros((1,), "int32") if num_classes else None,
        )
        self.built = True

    def features(self, images, seeds=None, training=False):
        """The flattened activations that the logit is a linear function of."""
        x = self.activation(self.conv1(images, training=training))
        x = self.drop1(
            x, seeds=_stream(seeds, DiscriminatorStream.FIRST_DROPOUT), training=training
        )
        x = self.activation(self.conv2(x, training=training))
        x = self.drop2(
            x, seeds=_stream(seeds, DiscriminatorStream.SECOND_DROPOUT), training=training
        )
        return self.flatten(x)

    def call(self, images, labels=None, seeds=None, training=False):
        features = self.features(images, seeds=seeds, training=training)
        logits = self.head(features, training=training)[:, 0]
        if self.projection is not None:
            if labels is None:
                raise ValueError("this discriminator is class-conditional: pass `labels`")
            # Float labels of shape [batch, 1]: `SpectralNormalization` casts its output to
            # its input's dtype and fixes the input's last axis when it is built.
            labels = keras.ops.cast(keras.ops.reshape(labels, (-1, 1)), features.dtype)
            embedded = self.projection(labels, training=training)[:, 0]
            logits = logits + keras.ops.sum(embedded * features, axis=-1)
        return keras.ops.cast(logits, "float32")  # Losses in float32 under mixed precision.

    def get_config(self):
        return {
            **super().get_config(),
            "image_shape": self.image_shape,
            "filters": self.filters,
            "dropout": self.dropout,
            "spectral_norm": self.spectral_norm,
            "num_classes": self.num_classes,
        }


def _stream(seeds, index):
    """Per-example seeds of stream `index` (None stays None)."""
    return None if seeds is None else fold_in(seeds, index)
