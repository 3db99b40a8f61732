"""Streaming mean and covariance of feature batches (the statistics FID compares).

FID needs only the mean and covariance of each feature set, so the features of
50,000 samples never have to sit in memory at once: feed them batch by batch to
`StreamingMoments.update` and read `.mean` / `.covariance` at the end. Reference
statistics of a dataset are computed once and cached with `save` / `load`.

    moments = StreamingMoments()
    for images in batches:
        moments.update(classifier.features(images))
    moments.save("mnist-test.npz")
"""

import os

import numpy as np

from tfgen.utils.files import atomic_write


def as_feature_matrix(features, name="features", dtype=np.float64, copy=False):
    """Returns `features` as a `[N, D]` array, or raises `ValueError`.

    Args:
        features: array-like or tensor.
        name: used in error messages.
        dtype: result dtype; `None` keeps a floating input's dtype (no copy).
        copy: always return a new array (safe to modify in place).
    """
    features = np.asarray(features)
    if dtype is None and not np.issubdtype(features.dtype, np.floating):
        dtype = np.float64
    if dtype is not None or copy:
        features = np.array(features, dtype=dtype, copy=True if copy else None)
    if features.ndim != 2:
        raise ValueError(
            f"{name} must be a [num_samples, num_features] array; got shape {features.shape}."
        )
    if not np.all(np.isfinite(features)):
        raise ValueError(f"{name} contains NaN or infinite values.")
    return features


class StreamingMoments:
    """Running count, mean and scatter matrix of `[batch, D]` feature batches.

    Each batch is centred on its own mean and merged with Chan et al.'s pairwise
    update, all in float64, so large feature offsets do not cancel away the
    covariance the way a running sum of squares would.

    Args:
        num_features: optional `D`; when omitted it is taken from the first batch.

    Attributes:
        count: number of samples seen so far.
        mean: `[D]` float64 mean of the samples seen.
        covariance: `[D, D]` unbiased covariance (as `np.cov(x, rowvar=False)`).
    """

    def __init__(self, num_features=None):
        self.count = 0
        self._mean = None if num_features is None else np.zeros(num_features)
        self._scatter = None if num_features is None else np.zeros((num_features,) * 2)

    @property
    def num_features(self):
        return None if self._mean is None else self._mean.shape[0]

    def update(self, features):
        """Adds a `[batch, D]` batch of features (NumPy array or tensor); returns `self`."""
        batch = as_feature_matrix(features)
        if self._mean is None:
            self._mean = np.zeros(batch.shape[1])
            self._scatter = np.zeros((batch.shape[1],) * 2)
        if batch.shape[1] != self.num_features:
            raise ValueError(
                f"Expected batches of {self.num_features} features; got shape {batch.shape}."
            )
        if batch.shape[0] == 0:
            return self
        batch_mean = batch.mean(axis=0)
        centred = batch - batch_mean
        self._merge(batch.shape[0], batch_mean, centred.T @ centred)
        return self

    def merge(self, other):
        """Folds another `StreamingMoments` (e.g. from another worker) into this one."""
        if other.count == 0:
            return self
        if self._mean is None:
            self._mean = np.zeros(other.num_features)
            self._scatter = np.zeros((other.num_features,) * 2)
        if other.num_features != self.num_features:
            raise ValueError(
                f"Cannot merge moments of {other.num_features} features "
                f"into moments of {self.num_features}."
            )
        self._merge(other.count, other._mean, other._scatter)
        return self

    def _merge(self, count, mean, scatter):
        total = self.count + count
        delta = mean - self._mean
        self._mean = self._mean + delta * (count / total)
        weight = self.count * count / total
        self._scatter = self._scatter + scatter + np.outer(delta, delta) * weight
        self.count = total

    @property
    def mean(self):
        if self.count == 0:
            raise ValueError("No features have been added yet.")
        return self._mean.copy()

    @property
    def covariance(self):
        if self.count < 2:
            raise ValueError(f"A covariance needs at least 2 samples; have {self.count}.")
        return self._scatter / (self.count - 1)

    def save(self, path):
        """Writes an `.npz` with `count`, `mean`, `scatter`, plus pytorch-fid's `mu`, `sigma`."""
        path = os.fspath(path)
        arrays = {
            "count": np.int64(self.count),
            "mean": self.mean,
            "scatter": self._scatter,
            "mu": self.mean,
        }
        if self.count >= 2:
            arrays["sigma"] = self.covariance
        with atomic_write(path) as handle:  # a file object keeps np.savez from appending ".npz"
            np.savez(handle, **arrays)

    @classmethod
    def load(cls, path):
        """Reads moments written by `save`."""
        with np.load(os.fspath(path)) as stored:
            missing = {"count", "mean", "scatter"} - set(stored.files)
            if missing:
                raise ValueError(
                    f"{path} is not a StreamingMoments file (missing "
                    f"{sorted(missing)}; has {sorted(stored.files)})."
                )
            moments = cls()
            moments.count = int(stored["count"])
            moments._mean = np.asarray(stored["mean"], np.float64)
            moments._scatter = np.asarray(stored["scatter"], np.float64)
        return moments

    @classmethod
    def from_features(cls, features, batch_size=None):
        """Moments of a whole `[N, D]` array (in batches of `batch_size` if given)."""
        features = as_feature_matrix(features)
        moments = cls(features.shape[1])
        step = batch_size or max(len(features), 1)
        for start in range(0, len(features), step):
            moments.update(features[start : start + step])
        return moments

    def __repr__(self):
        return f"StreamingMoments(count={self.count}, num_features={self.num_features})"
