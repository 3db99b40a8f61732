"""`tfgen.runs`: a run directory written before the redesign still loads, unchanged."""

import shutil
from pathlib import Path

import keras
import numpy as np
import pytest

import tfgen.models  # noqa: F401  (registers the classes that `model.keras` names)
from tfgen import runs

# Written by tfgen 0.1.0 before the layout of issue 18 (tiny VAE, one epoch, 8x8 images).
OLD_RUN = Path(__file__).resolve().parents[1] / "fixtures" / "run_v0_1_vae"


@pytest.fixture
def old_run(tmp_path):
    return Path(shutil.copytree(OLD_RUN, tmp_path / "run"))


def test_old_run_directory_loads_with_the_same_weights(old_run):
    model, config, info, epoch = runs.load(old_run)
    assert (config.model, epoch, info.shape) == ("vae", 1, (8, 8, 1))
    expected = np.load(old_run / "expected_samples.npy")
    np.testing.assert_allclose(model.sample_images(4, seed=0), expected, atol=1e-6)


def test_old_keras_file_loads_with_the_same_samples(old_run):
    model = keras.models.load_model(runs.Run(old_run).model_file)
    expected = np.load(old_run / "expected_samples.npy")
    np.testing.assert_allclose(model.sample_images(4, seed=0), expected, atol=1e-6)


def test_run_names_every_file_of_the_directory(old_run):
    run = runs.Run(old_run)
    for path in (run.config_file, run.dataset_info_file, run.model_file, run.checkpoint_dir):
        assert path.exists(), path
    assert runs.Run(old_run).checkpoint_path("latest").endswith("ckpt-1")


def test_missing_best_checkpoint_says_how_to_get_one(old_run):
    with pytest.raises(FileNotFoundError, match="has no best checkpoint: train with best_metric"):
        runs.load(old_run, checkpoint="best")


def test_not_a_run_directory_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"{tmp_path} is not a run directory"):
        runs.load(tmp_path)


def test_unknown_checkpoint_names_the_valid_ones(old_run):
    with pytest.raises(ValueError, match="checkpoint must be 'latest' or 'best', got 'newest'"):
        runs.load(old_run, checkpoint="newest")
