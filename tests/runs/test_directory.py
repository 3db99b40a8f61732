"""`tfgen.runs.Run`: the config a run directory keeps, and which changes resume refuses."""

import pytest
import yaml

from tfgen import config as config_lib
from tfgen import runs
from tfgen.models import VAEConfig


def saved_run(tmp_path, **values):
    run = runs.Run(tmp_path / "run")
    run.write_config(config_lib.resolve(VAEConfig, values))
    return run


def test_the_same_config_and_resumable_changes_are_accepted(tmp_path):
    run = saved_run(tmp_path, latent_dim=4)
    run.write_config(config_lib.resolve(VAEConfig, {"latent_dim": 4, "epochs": 50}))
    assert run.read_config().epochs == 50


def test_another_value_names_the_key_and_what_may_change(tmp_path):
    run = saved_run(tmp_path, latent_dim=4)
    with pytest.raises(config_lib.ConfigError, match=r"differs in: latent_dim\). Resume it"):
        run.write_config(config_lib.resolve(VAEConfig, {"latent_dim": 5}))


def test_a_key_added_since_the_run_started_counts_as_its_default(tmp_path):
    # A run written before `beta` existed: resuming at beta's default is the same run.
    run = saved_run(tmp_path)
    values = yaml.safe_load(run.config_file.read_text())
    del values["beta"]
    run.config_file.write_text(yaml.safe_dump(values))
    run.write_config(config_lib.resolve(VAEConfig, {}))

    run.config_file.write_text(yaml.safe_dump(values))
    with pytest.raises(config_lib.ConfigError, match="differs in: beta"):
        run.write_config(config_lib.resolve(VAEConfig, {"beta": 0.5}))
