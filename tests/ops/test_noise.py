"""`tfgen.ops.noise`: one registry of random streams, and draws independent of the batch split."""

import ast
from pathlib import Path

import numpy as np
import tensorflow as tf

from tfgen.ops.noise import DiscriminatorStream, Stream, fold_in, per_example_normal

PACKAGE = Path(__file__).resolve().parents[2] / "tfgen"


def test_streams_are_distinct_and_below_the_extra_critic_offset():
    values = [stream.value for stream in Stream]
    assert len(set(values)) == len(values)
    assert max(v for v in values if v != Stream.EXTRA_CRITIC_STEPS) < Stream.EXTRA_CRITIC_STEPS
    assert len({s.value for s in DiscriminatorStream}) == len(DiscriminatorStream)


def test_every_fold_in_names_a_registered_stream():
    # A literal id at a call site would be a stream outside the registry.
    literals = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) == "fold_in"
                and len(node.args) == 2
                and isinstance(node.args[1], ast.Constant)
            ):
                literals.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert literals == []


def test_streams_differ_and_each_example_depends_only_on_its_own_seed():
    seeds = tf.constant([[1, 2], [3, 4], [5, 6]], tf.int64)
    latent = per_example_normal(fold_in(seeds, Stream.LATENT), [4]).numpy()
    mixing = per_example_normal(fold_in(seeds, Stream.MIXING_LATENT), [4]).numpy()
    assert not np.allclose(latent, mixing)
    alone = per_example_normal(fold_in(seeds[1:2], Stream.LATENT), [4]).numpy()
    np.testing.assert_array_equal(alone, latent[1:2])
