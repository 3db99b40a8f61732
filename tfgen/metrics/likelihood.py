"""Likelihood metrics: the importance-weighted bound on a VAE's NLL, and language-model perplexity.

- `importance_weighted_nll`: Burda, Grosse & Salakhutdinov 2016, "Importance Weighted
  Autoencoders" (https://arxiv.org/abs/1509.00519). With `K` draws `z_k ~ q(z|x)`,
  `log p(x) >= log (1/K) sum_k p(x|z_k) p(z_k) / q(z_k|x)`; the bound tightens as `K`
  grows (`K = 1` is the ELBO) and the returned NLL is its negation, in nats per image.
- `language_model_metrics`: test loss (nats per token), perplexity `exp(loss)`, bits
  per token and, with a tokenizer, bits per character.
"""

import math

import numpy as np
import tensorflow as tf


def importance_weighted_nll(
    model, images, num_samples=1000, seed=0, batch_size=50, samples_per_pass=100
):
    """Per-image upper bound on `-log p(x)` from `num_samples` importance samples.

    Args:
        model: a VAE: `encode(images)` returns q(z|x), `decode(z)` returns p(x|z)
            (both `tfp` distributions) and `prior` is p(z) (e.g. `tfgen.models.VAE`).
        images: `[N, H, W, C]` images the model's likelihood is defined on (for
            `binarized_mnist`, the {0, 1} test images).
        num_samples: `K`, importance samples per image.
        seed: seeds the draws (stateless: the same seed gives the same bound).
        batch_size: images per pass.
        samples_per_pass: draws decoded at once per image (memory is
            `batch_size * samples_per_pass` decoded images).

    Returns:
        float64 NumPy array `[N]`: the bound on `-log p(x)` per image, in nats.
    """
    if num_samples < 1:
        raise ValueError(f"num_samples must be at least 1, got {num_samples}")
    per_pass = min(samples_per_pass, num_samples)
    passes = math.ceil(num_samples / per_pass)

    @tf.function(reduce_retracing=True)
    def log_weights(batch, pass_seed):
        posterior = model.encode(batch)
        z = posterior.sample(per_pass, seed=pass_seed)  # [S, B, latent]
        flat = tf.reshape(z, [-1, z.shape[-1]])
        repeated = tf.tile(batch, [per_pass, 1, 1, 1])
        log_px = tf.reshape(model.decode(flat).log_prob(repeated), [per_pass, -1])
        return log_px + model.prior.log_prob(z) - posterior.log_prob(z)

    bounds = []
    images = tf.convert_to_tensor(images, tf.float32)
    for start in range(0, int(images.shape[0]), batch_size):
        batch = images[start : start + batch_size]
        weights = [
            log_weights(batch, tf.constant([seed, start * passes + i], tf.int32))
            for i in range(passes)
        ]
        weights = tf.concat(weights, axis=0)[:num_samples]
        log_px = tf.reduce_logsumexp(tf.cast(weights, tf.float64), axis=0) - math.log(num_samples)
        bounds.append(-log_px.numpy())
    return np.concatenate(bounds)


def language_model_metrics(model, batches, steps=None):
    """Loss, perplexity and bits of a language model on `(inputs, targets)` batches.

    Args:
        model: a compiled `tfgen.models.LanguageModel`.
        batches: a dataset of `(inputs, targets)` windows (e.g. a split through
            `tfgen.text.windows(..., shuffle=False)`).
        steps: optional number of batches.

    Returns:
        `{"loss": nats per token, "perplexity": exp(loss), "bits_per_token": ...}`
        plus `"bits_per_character"` when the model has a tokenizer.
    """
    if model.optimizer is None:
        model.compile()
    values = model.evaluate(batches, steps=steps, verbose=0, return_dict=True)
    result = {
        "loss": float(values["loss"]),
        "perplexity": math.exp(float(values["loss"])),
        "bits_per_token": float(values["bits_per_token"]),
    }
    if "bits_per_character" in values:
        result["bits_per_character"] = float(values["bits_per_character"])
    return result
