"""Inception Score (Salimans et al. 2016; higher is better).

    IS = exp(E_x[KL(p(y|x) || p(y))]),

computed on each of `splits` consecutive chunks of the samples, with `p(y)` the
chunk's mean prediction, and reported as the mean and standard deviation over
chunks (the original OpenAI code and torch-fidelity, `splits=10`). It ranges
from 1 (every sample gets the same prediction) to the number of classes
(confident predictions spread evenly over all classes).

Probabilities are small (`[N, num_classes]`), so they are passed in full;
`classifier.probabilities(images)` gives them.
"""

import numpy as np

DEFAULT_SPLITS = 10


def _as_probabilities(probabilities):
    probabilities = np.asarray(probabilities, np.float64)
    if probabilities.ndim != 2:
        raise ValueError(
            f"probabilities must be a [num_samples, num_classes] array; "
            f"got shape {probabilities.shape}."
        )
    if not np.all(np.isfinite(probabilities)) or np.any(probabilities < 0):
        raise ValueError("probabilities must be finite and non-negative.")
    if not np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-3):
        raise ValueError(
            "Each row of probabilities must sum to 1 (pass softmax outputs, not logits)."
        )
    return probabilities


def mean_kl_to_marginal(probabilities):
    """`E_x[KL(p(y|x) || p(y))]` in nats for one `[N, C]` chunk (0 log 0 taken as 0)."""
    marginal = probabilities.mean(axis=0, keepdims=True)
    positive = probabilities > 0
    ratio = np.where(positive, probabilities, 1.0) / np.where(positive, marginal, 1.0)
    return float((probabilities * np.log(ratio)).sum(axis=1).mean())


def inception_score(probabilities, splits=DEFAULT_SPLITS, shuffle_seed=None):
    """Inception Score of `[N, num_classes]` class probabilities.

    Args:
        probabilities: softmax outputs of the classifier, one row per sample.
        splits: number of chunks; chunk `i` is rows `i*N//splits : (i+1)*N//splits`.
        shuffle_seed: if given, rows are first permuted by
            `np.random.RandomState(shuffle_seed)` (torch-fidelity shuffles with
            seed 2020); `None` keeps the given order.

    Returns:
        `(mean, std)` over chunks as Python floats (`std` is `np.std`).
    """
    probabilities = _as_probabilities(probabilities)
    count = len(probabilities)
    if not 1 <= splits <= count:
        raise ValueError(
            f"splits must be between 1 and the number of samples ({count}); got {splits}."
        )
    if shuffle_seed is not None:
        probabilities = probabilities[np.random.RandomState(shuffle_seed).permutation(count)]
    scores = np.array(
        [
            np.exp(
                mean_kl_to_marginal(probabilities[i * count // splits : (i + 1) * count // splits])
            )
            for i in range(splits)
        ]
    )
    return float(scores.mean()), float(scores.std())
