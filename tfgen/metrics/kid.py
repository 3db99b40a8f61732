"""Kernel Inception Distance (Bińkowski et al. 2018; lower is better).

KID is the unbiased estimate of the squared maximum mean discrepancy (MMD²)
between real and generated features under the cubic polynomial kernel

    k(x, y) = (x·y / D + 1)^3,

averaged over `num_subsets` random subsets of `subset_size` samples per set, as
in torch-fidelity (`kid_subsets`, `kid_subset_size`) and clean-fid. Unlike FID
it is unbiased, so it can be slightly negative and is ≈ 0 in expectation when
both sets come from one distribution.

Unlike FID, KID needs the features themselves, not just moments: pass the full
`[N, D]` arrays (50,000 x 128 float32 features take 25 MB). They are used in
their own dtype; only the subsets are cast to float64.
"""

import numpy as np

from tfgen.metrics.statistics import as_feature_matrix

DEFAULT_NUM_SUBSETS = 100
DEFAULT_SUBSET_SIZE = 1000


def polynomial_kernel(x, y, degree=3, gamma=None, coef0=1.0):
    """`(gamma * x @ y.T + coef0) ** degree`, with `gamma = 1 / D` by default."""
    gamma = 1.0 / x.shape[1] if gamma is None else gamma
    base = gamma * (x @ y.T) + coef0
    if not float(degree).is_integer() or degree < 1:
        return base**degree
    result = base.copy()
    for _ in range(int(degree) - 1):  # repeated products: exact and much faster than pow
        result *= base
    return result


def unbiased_mmd2(k_xx, k_yy, k_xy):
    """Unbiased MMD² from the three `[m, m]` kernel matrices of two equal-size samples.

    Diagonals of `k_xx` and `k_yy` (each point with itself) are left out, so the
    within-set terms average over `m (m - 1)` pairs; cross terms over `m²`.
    """
    m = k_xx.shape[0]
    within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(within - 2.0 * k_xy.sum() / (m * m))


def polynomial_mmd2(x, y, degree=3, gamma=None, coef0=1.0):
    """Unbiased MMD² between two equal-size `[m, D]` samples under the polynomial kernel."""

    def kernel(a, b):
        return polynomial_kernel(a, b, degree, gamma, coef0)

    return unbiased_mmd2(kernel(x, x), kernel(y, y), kernel(x, y))


def kernel_inception_distance(
    real_features,
    fake_features,
    num_subsets=DEFAULT_NUM_SUBSETS,
    subset_size=DEFAULT_SUBSET_SIZE,
    seed=0,
    degree=3,
    gamma=None,
    coef0=1.0,
):
    """KID between two `[N, D]` feature arrays.

    Args:
        real_features, fake_features: `[N_real, D]` and `[N_fake, D]` features.
        num_subsets: number of random subset pairs to average over.
        subset_size: samples per subset; clipped to `min(N_real, N_fake)` (as
            clean-fid does) so small evaluations still run.
        seed: seed of the `np.random.RandomState` that draws the subsets; each
            subset pair is drawn real first, then fake, without replacement
            (torch-fidelity's order, whose default seed is 2020).
        degree, gamma, coef0: polynomial kernel `(gamma x·y + coef0)^degree`;
            `gamma=None` means `1 / D`.

    Returns:
        `(mean, std)` of the per-subset MMD² estimates as Python floats (`std` is
        the population standard deviation, `np.std`, as torch-fidelity reports).
    """
    real = as_feature_matrix(real_features, "real_features", dtype=None)  # no full copy
    fake = as_feature_matrix(fake_features, "fake_features", dtype=None)
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"Feature sizes differ: {real.shape[1]} real vs {fake.shape[1]} fake.")
    if num_subsets < 1:
        raise ValueError(f"num_subsets must be >= 1; got {num_subsets}.")
    size = min(int(subset_size), len(real), len(fake))
    if size < 2:
        raise ValueError(
            f"KID needs subsets of at least 2 samples per set; got "
            f"subset_size={subset_size} with {len(real)} real and "
            f"{len(fake)} fake samples."
        )
    rng = np.random.RandomState(seed)
    estimates = np.empty(num_subsets)
    for i in range(num_subsets):
        x = real[rng.choice(len(real), size, replace=False)].astype(np.float64)
        y = fake[rng.choice(len(fake), size, replace=False)].astype(np.float64)
        estimates[i] = polynomial_mmd2(x, y, degree, gamma, coef0)
    return float(estimates.mean()), float(estimates.std())
