"""Fréchet distance between Gaussians fitted to two feature sets (FID; lower is better).

    FID = ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))

as in TTUR / pytorch-fid `calculate_frechet_distance`. Only the trace of the
matrix square root enters the formula, and for covariances (symmetric positive
semi-definite) it equals the sum of the square roots of the eigenvalues of the
symmetric matrix `S1^(1/2) S2 S1^(1/2)`. tfgen computes it that way with
`np.linalg.eigh`: no SciPy, no complex round-off to discard, and no non-finite
results on singular covariances (pytorch-fid's `eps` retry is therefore not
needed; `eps` is still accepted for callers who want its offset).

The statistics come from `StreamingMoments`, which accumulates batch by batch,
so the features themselves never need to be held in memory.
"""

import numpy as np

from tfgen.metrics.statistics import StreamingMoments, as_feature_matrix


def _denoised(eigenvalues):
    """Zeroes eigenvalues within round-off of 0 (|λ| <= D·ε·max|λ|), which the square
    root would otherwise amplify from ~1e-16 to ~1e-8 each on singular covariances."""
    tolerance = eigenvalues.size * np.finfo(np.float64).eps * np.abs(eigenvalues).max(initial=0.0)
    return np.where(eigenvalues > tolerance, eigenvalues, 0.0)


def _symmetric_sqrt(matrix):
    """Square root of a symmetric PSD matrix."""
    eigenvalues, eigenvectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (eigenvectors * np.sqrt(_denoised(eigenvalues))) @ eigenvectors.T


def trace_sqrt_product(sigma1, sigma2):
    """Returns `Tr((sigma1 @ sigma2)^(1/2))` for two symmetric PSD matrices."""
    root1 = _symmetric_sqrt(sigma1)
    middle = root1 @ sigma2 @ root1
    eigenvalues = np.linalg.eigvalsh((middle + middle.T) / 2)
    return float(np.sqrt(_denoised(eigenvalues)).sum())


def frechet_distance(mu1, sigma1, mu2, sigma2, eps=0.0):
    """Fréchet distance between `N(mu1, sigma1)` and `N(mu2, sigma2)`.

    Args:
        mu1, mu2: `[D]` means.
        sigma1, sigma2: `[D, D]` covariances.
        eps: optional offset added to both diagonals (pytorch-fid uses 1e-6 when its
            `sqrtm` fails); 0 by default because the eigendecomposition cannot fail.

    Returns:
        The distance as a Python float. Round-off can leave it a hair below 0
        (about -1e-12 times the covariance scale) for identical statistics.
    """
    mu1, mu2 = (np.atleast_1d(np.asarray(mu, np.float64)) for mu in (mu1, mu2))
    sigma1, sigma2 = (np.atleast_2d(np.asarray(sigma, np.float64)) for sigma in (sigma1, sigma2))
    if mu1.shape != mu2.shape or mu1.ndim != 1:
        raise ValueError(f"Means must be vectors of one length; got {mu1.shape} and {mu2.shape}.")
    expected = (mu1.shape[0],) * 2
    if sigma1.shape != expected or sigma2.shape != expected:
        raise ValueError(
            f"Covariances must have shape {expected}; got {sigma1.shape} and {sigma2.shape}."
        )
    if eps:
        offset = eps * np.eye(expected[0])
        sigma1, sigma2 = sigma1 + offset, sigma2 + offset
    diff = mu1 - mu2
    return float(
        diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_sqrt_product(sigma1, sigma2)
    )


def fid_from_moments(real_moments, fake_moments, eps=0.0):
    """FID between two `StreamingMoments` (e.g. cached reference vs. generated)."""
    return frechet_distance(
        real_moments.mean,
        real_moments.covariance,
        fake_moments.mean,
        fake_moments.covariance,
        eps=eps,
    )


def fid_from_features(real_features, fake_features, eps=0.0):
    """FID between two in-memory `[N, D]` feature arrays (convenience for small sets)."""
    real = StreamingMoments.from_features(as_feature_matrix(real_features, "real_features"))
    fake = StreamingMoments.from_features(as_feature_matrix(fake_features, "fake_features"))
    return fid_from_moments(real, fake, eps=eps)
