"""Greedy decoding: always the most likely token."""

import tensorflow as tf

from tfgen.samplers.base import Sampler


class GreedySampler(Sampler):
    """Picks the highest-scoring token at every step (ties go to the lowest id).

    Deterministic: `seed` is accepted and ignored, and `temperature` does not
    change the argmax.

    Args:
        **kwargs: `temperature`, `seed`, as in `Sampler`.

    Example:

    ```python
    sampler = tfgen.samplers.get("greedy")
    tokens = sampler(next_fn, prompt, cache=cache, index=prompt_length,
                     stop_token_ids=[end_id])
    ```
    """

    name = "greedy"

    def get_next_token(self, logits, seed):
        return tf.argmax(logits, axis=-1, output_type=tf.int32)
