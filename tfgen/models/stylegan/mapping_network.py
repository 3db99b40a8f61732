"""StyleGAN's mapping network z (and an optional label) -> w, with the tracked average w.

Karras et al. 2019 (https://arxiv.org/abs/1812.04948), section 2: an MLP of 8
layers maps the normalized latent code to the intermediate latent space W, with a
learning rate 100 times lower than the synthesis network's (`lr_multiplier=0.01`,
appendix C). As in the official StyleGAN2-ADA `MappingNetwork` (networks.py),
z and the label embedding are each normalized to unit second moment and
concatenated, and the network tracks `w_avg`, a moving average of its outputs
during training, the centre of the truncation trick
`w ← w_avg + ψ (w − w_avg)`.
"""

import keras
import tensorflow as tf

from tfgen.models.stylegan.equalized import EqualizedDense
from tfgen.models.stylegan.tracking import track_each


def normalize_2nd_moment(x, epsilon=1e-8):
    """`x / sqrt(mean(x²))` over the last axis (the "pixel norm" of z)."""
    return x * tf.math.rsqrt(tf.reduce_mean(tf.square(x), axis=-1, keepdims=True) + epsilon)


@keras.saving.register_keras_serializable(package="tfgen")
class MappingNetwork(keras.layers.Layer):
    """Maps latent codes `z` (and labels) to intermediate latents `w`.

    Args:
        latent_dim: size of z.
        w_dim: size of w.
        num_layers: depth of the MLP (8 in StyleGAN and StyleGAN2).
        num_classes: number of class labels (0 = unconditional). A label is
            embedded into `w_dim` values, normalized and concatenated to z.
        lr_multiplier: learning-rate multiplier of every layer (0.01 in the paper).
        w_avg_beta: decay of the moving average `w_avg` (0.995 in the official code).

    Example:

    >>> mapping = MappingNetwork(latent_dim=4, w_dim=8, num_layers=2)
    >>> mapping(tf.ones([3, 4])).shape
    TensorShape([3, 8])
    """

    def __init__(
        self,
        latent_dim,
        w_dim,
        num_layers=8,
        num_classes=0,
        lr_multiplier=0.01,
        w_avg_beta=0.995,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if num_layers < 1:
            raise ValueError(f"the mapping network needs at least 1 layer, got {num_layers}")
        self.latent_dim = latent_dim
        self.w_dim = w_dim
        self.num_layers = num_layers
        self.num_classes = num_classes or 0
        self.lr_multiplier = lr_multiplier
        self.w_avg_beta = w_avg_beta
        self.embed = EqualizedDense(w_dim, name="embed") if self.num_classes else None
        self.dense_layers = track_each(
            self,
            "dense_",
            [
                EqualizedDense(
                    w_dim, lr_multiplier=lr_multiplier, activation="lrelu", name=f"dense{index}"
                )
                for index in range(num_layers)
            ],
        )

    def build(self, z_shape, labels_shape=None):
        width = self.latent_dim
        if self.embed is not None:
            self.embed.build((None, self.num_classes))
            width += self.w_dim
        for layer in self.dense_layers:
            layer.build((None, width))
            width = self.w_dim
        self.w_avg = self.add_weight(
            name="w_avg",
            shape=(self.w_dim,),
            initializer="zeros",
            trainable=False,
            aggregation="only_first_replica",
        )

    def call(self, z, labels=None, truncation_psi=1.0):
        """Returns `w`, `[batch, w_dim]`, truncated towards `w_avg` by `truncation_psi`."""
        x = normalize_2nd_moment(tf.cast(z, self.compute_dtype))
        if self.embed is not None:
            if labels is None:
                raise ValueError("this mapping network is class-conditional: pass `labels`")
            one_hot = tf.one_hot(tf.cast(labels, tf.int32), self.num_classes)
            x = tf.concat([x, normalize_2nd_moment(self.embed(one_hot))], axis=-1)
        for layer in self.dense_layers:
            x = layer(x)
        return self.truncate(x, truncation_psi)

    def truncate(self, w, truncation_psi):
        """`w_avg + ψ (w − w_avg)`; ψ = 1 returns `w` unchanged, ψ = 0 gives `w_avg`."""
        if isinstance(truncation_psi, (int, float)) and truncation_psi == 1:
            return w
        psi = tf.cast(truncation_psi, w.dtype)
        return self.w_avg + psi * (w - self.w_avg)

    def update_w_avg(self, w):
        """Moves `w_avg` towards the mean of `w` over the GLOBAL batch.

        Under a `tf.distribute` strategy the per-replica means are averaged
        across replicas (the replicas hold equal batches), so every replica
        assigns the same value and the update does not depend on the split.
        """
        batch_mean = tf.reduce_mean(tf.cast(w, tf.float32), axis=0)
        context = tf.distribute.get_replica_context()
        if context is not None and context.num_replicas_in_sync > 1:
            batch_mean = context.all_reduce("mean", batch_mean)
        self.w_avg.assign(batch_mean + self.w_avg_beta * (self.w_avg - batch_mean))

    def compute_output_shape(self, z_shape, labels_shape=None):
        return (z_shape[0], self.w_dim)

    def get_config(self):
        return {
            **super().get_config(),
            "latent_dim": self.latent_dim,
            "w_dim": self.w_dim,
            "num_layers": self.num_layers,
            "num_classes": self.num_classes,
            "lr_multiplier": self.lr_multiplier,
            "w_avg_beta": self.w_avg_beta,
        }
