"""k-nearest-neighbour manifold metrics: precision, recall, density, coverage.

Each feature set's manifold is the union of balls around its samples, each
ball's radius the distance to the sample's k-th nearest neighbour in the same
set (itself excluded).

- precision: fraction of fake samples inside the real manifold
  (Kynkäänniemi et al. 2019, k=3).
- recall: fraction of real samples inside the fake manifold (same paper).
- density: average number of real balls containing a fake sample, divided by k
  (Naeem et al. 2020, k=5; can exceed 1).
- coverage: fraction of real samples whose ball contains at least one fake sample
  (same paper).

All are higher-is-better. The features are needed in full (50,000 x 128 float32
is 25 MB; one float64 copy of each set is made), but pairwise distances are
computed in row blocks of at most `max_block_elements` float64 entries, so the
N x N matrices are never formed and memory beyond the features stays bounded.

`precision_recall` follows the NVlabs reference (a point on a ball's boundary is
inside: `distance <= radius`); `density_coverage` and `prdc` follow the `prdc`
package (`compute_prdc`, strict `distance < radius`). They differ only on exact
ties, e.g. duplicated samples.
"""

import numpy as np

from tfgen.metrics.statistics import as_feature_matrix

DEFAULT_BLOCK_ELEMENTS = 2**21  # 16 MB of float64 distances per block (~3x that at peak)


def _row_blocks(num_rows, num_cols, max_block_elements):
    step = max(1, int(max_block_elements) // max(num_cols, 1))
    for start in range(0, num_rows, step):
        yield start, min(start + step, num_rows)


def pairwise_distances(x, y):
    """Euclidean distances `[len(x), len(y)]` via `|x|² + |y|² - 2 x·y` (clipped at 0)."""
    squared = (x * x).sum(axis=1)[:, None] + (y * y).sum(axis=1)[None, :] - 2.0 * (x @ y.T)
    return np.sqrt(np.maximum(squared, 0.0))


def nearest_neighbour_radii(features, k, max_block_elements=DEFAULT_BLOCK_ELEMENTS):
    """Distance from each row of `[N, D]` features to its k-th nearest other row."""
    features = as_feature_matrix(features)
    count = len(features)
    if not 1 <= k < count:
        raise ValueError(
            f"k must be between 1 and the number of samples - 1 ({count - 1}); got k={k}."
        )
    radii = np.empty(count)
    for start, stop in _row_blocks(count, count, max_block_elements):
        distances = pairwise_distances(features[start:stop], features)
        distances[np.arange(stop - start), np.arange(start, stop)] = 0.0  # self, exactly
        radii[start:stop] = np.partition(distances, k, axis=1)[:, k]  # index 0 is self
    return radii


def _prepare(real_features, fake_features):
    real = as_feature_matrix(real_features, "real_features", copy=True)
    fake = as_feature_matrix(fake_features, "fake_features", copy=True)
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"Feature sizes differ: {real.shape[1]} real vs {fake.shape[1]} fake.")
    centre = real.mean(axis=0)  # distances are shift-invariant; centring limits round-off
    real -= centre  # in place on the float64 copies
    fake -= centre
    return real, fake


def _manifold_scores(real, fake, k, with_recall, inclusive, max_block_elements):
    """One blocked pass over real x fake distances; returns a dict of all scores."""
    real_radii = nearest_neighbour_radii(real, k, max_block_elements)
    fake_radii = nearest_neighbour_radii(fake, k, max_block_elements) if with_recall else None
    inside = np.less_equal if inclusive else np.less
    real_balls_per_fake = np.zeros(len(fake), np.int64)  # precision and density
    in_fake_manifold = np.zeros(len(real), bool)  # recall
    covered = np.zeros(len(real), bool)  # coverage
    for start, stop in _row_blocks(len(real), len(fake), max_block_elements):
        distances = pairwise_distances(real[start:stop], fake)
        real_balls_per_fake += inside(distances, real_radii[start:stop, None]).sum(axis=0)
        covered[start:stop] = inside(distances.min(axis=1), real_radii[start:stop])
        if with_recall:
            in_fake_manifold[start:stop] = inside(distances, fake_radii[None, :]).any(axis=1)
    return {
        "precision": float(np.mean(real_balls_per_fake > 0)),
        "recall": float(np.mean(in_fake_manifold)) if with_recall else None,
        "density": float(np.mean(real_balls_per_fake) / k),
        "coverage": float(np.mean(covered)),
    }


def precision_recall(real_features, fake_features, k=3, max_block_elements=DEFAULT_BLOCK_ELEMENTS):
    """Improved precision and recall (Kynkäänniemi et al. 2019).

    Args:
        real_features, fake_features: `[N_real, D]` and `[N_fake, D]` features.
        k: neighbourhood size for the ball radii (3 in the paper).
        max_block_elements: upper bound on distances held at once.

    Returns:
        `(precision, recall)` as Python floats in [0, 1].
    """
    real, fake = _prepare(real_features, fake_features)
    scores = _manifold_scores(real, fake, k, True, True, max_block_elements)
    return scores["precision"], scores["recall"]


def density_coverage(real_features, fake_features, k=5, max_block_elements=DEFAULT_BLOCK_ELEMENTS):
    """Density and coverage (Naeem et al. 2020); only real-set radii are needed.

    Returns:
        `(density, coverage)` as Python floats; coverage is in [0, 1], density
        in [0, N_real / k] (≈ 1 when both sets share a distribution).
    """
    real, fake = _prepare(real_features, fake_features)
    scores = _manifold_scores(real, fake, k, False, False, max_block_elements)
    return scores["density"], scores["coverage"]


def prdc(real_features, fake_features, k=5, max_block_elements=DEFAULT_BLOCK_ELEMENTS):
    """All four scores with one `k` in one pass, as the `prdc` package's `compute_prdc`.

    Returns:
        A dict with float `precision`, `recall`, `density` and `coverage`.
    """
    real, fake = _prepare(real_features, fake_features)
    return _manifold_scores(real, fake, k, True, False, max_block_elements)
