"""A sampler whose temperature, top-k and top-p may be tensors chosen at call time.

The registered samplers fix their parameters as Python numbers when built. A
serving signature takes them as request inputs instead, so `FilteredSampler`
accepts scalar or per-row (`[batch]`) tensors and gives every "off" value a
meaning rather than an error: a temperature <= 0 is greedy decoding, a top-k
<= 0 keeps every token, a top-p >= 1 keeps the whole distribution. The cuts
chain as in Hugging Face's `generate`: temperature, then top-k, then top-p on
the renormalised top-k distribution.

Dynamic `k` is done by sorting the whole vocabulary (`tf.math.top_k` with
`k = vocab`): cheap for the vocabularies of tfgen's language models.
"""

import tensorflow as tf

from tfgen.samplers.base import Sampler


def _per_row(value, dtype):
    """A scalar or `[batch]` parameter as a `[batch or 1, 1]` tensor that broadcasts over logits."""
    return tf.reshape(tf.cast(value, dtype), [-1, 1])


def _check_number(name, value, kind):
    if tf.is_tensor(value):
        return value
    if isinstance(value, bool) or not isinstance(value, kind):
        what = "an integer" if kind is int else "a number"
        raise ValueError(f"`{name}` must be {what} or a tensor, got {value!r}.")
    return value


class FilteredSampler(Sampler):
    """Temperature, top-k and top-p sampling with parameters that may be tensors.

    Not in the `tfgen.samplers.SAMPLERS` registry (whose samplers are chosen by
    name on the command line): it exists for graphs that take the sampling
    parameters as inputs, such as the `generate` signature of an exported
    language model.

    Args:
        temperature: float (or float tensor, scalar or `[batch]`). Logits are
            divided by it; `<= 0` means greedy decoding (the most likely token,
            lowest id on ties, as `GreedySampler`). Defaults to `1.0`.
        top_k: int (or int tensor, scalar or `[batch]`): only the `top_k` most
            likely tokens stay candidates; `<= 0` (or at least the vocabulary
            size) keeps every token. Defaults to `0`.
        top_p: float (or float tensor, scalar or `[batch]`): nucleus cut on the
            distribution left by top-k: tokens are kept, most likely first,
            while the probability before them is below `top_p`. The most likely
            token always stays, so a tiny `top_p` is greedy; `>= 1` keeps every
            token. Defaults to `1.0`.
        seed: optional default seed, see `Sampler`.

    Raises:
        ValueError: if a Python value has the wrong type (tensors are not
            checked: every value has a meaning).

    Example:

    ```python
    sampler = FilteredSampler(temperature=tf.constant(0.8), top_k=tf.constant(40),
                              top_p=tf.constant(0.95))
    tokens = sampler(model.next_fn, buffer, cache=cache, index=1, mask=mask, seed=seed)
    ```
    """

    name = "filtered"

    def __init__(self, temperature=1.0, top_k=0, top_p=1.0, seed=None):
        # Not Sampler.__init__: it requires a Python temperature > 0, and here
        # 0 (greedy) and tensors are valid.
        self.temperature = _check_number("temperature", temperature, (int, float))
        self.top_k = _check_number("top_k", top_k, int)
        self.top_p = _check_number("top_p", top_p, (int, float))
        self.seed = seed

    def scale(self, logits):
        """float32 logits, unscaled: `get_next_token` applies the temperature (0 is greedy)."""
        return tf.cast(logits, tf.float32)

    def filter_logits(self, logits):
        """Applies temperature, top-k and top-p to `logits`, sorted by decreasing score.

        Args:
            logits: float `[batch, vocab]`, as the model gives them.

        Returns:
            `(filtered, ids)`: float32 `[batch, vocab]` logits divided by the
            temperature (rows with temperature <= 0 are left unscaled), sorted in
            decreasing order with the cut tokens set to `-inf`, and int32
            `[batch, vocab]`, the token id at each sorted position.
        """
        logits = tf.cast(logits, tf.float32)
        temperature = _per_row(self.temperature, tf.float32)
        top_k = _per_row(self.top_k, tf.int32)
        top_p = _per_row(self.top_p, tf.float32)
        scaled = logits / tf.where(temperature > 0, temperature, tf.ones_like(temperature))
        # Sorts the whole vocabulary (ties: lower id first); k and p are then masks.
        sorted_logits, sorted_ids = tf.math.top_k(scaled, k=tf.shape(scaled)[-1], sorted=True)
        position = tf.range(tf.shape(scaled)[-1])[None, :]
        first = position == 0
        keep_k = tf.logical_or(top_k <= 0, position < top_k)
        sorted_logits = tf.where(keep_k, sorted_logits, -float("inf"))
        probs = tf.nn.softmax(sorted_logits, axis=-1)
        mass_before = tf.cumsum(probs, axis=-1, exclusive=True)
        keep_p = tf.logical_or(top_p >= 1.0, mass_before < top_p)
        keep = tf.logical_and(keep_k, tf.logical_or(keep_p, first))
        return tf.where(keep, sorted_logits, -float("inf")), sorted_ids

    def get_next_token(self, logits, seed):
        """One token per row: argmax where temperature <= 0, else a draw from the filtered logits.

        Args:
            logits: float32 `[batch, vocab]`, NOT divided by the temperature.
            seed: int32 `[2]` stateless seed for this step.

        Returns:
            int32 `[batch]` token ids.
        """
        filtered, sorted_ids = self.filter_logits(logits)
        position = tf.random.stateless_categorical(filtered, 1, seed=seed, dtype=tf.int32)
        drawn = tf.gather(sorted_ids, position, batch_dims=1)[:, 0]
        greedy = tf.argmax(logits, axis=-1, output_type=tf.int32)
        is_greedy = tf.reshape(_per_row(self.temperature, tf.float32) <= 0, [-1])
        return tf.where(is_greedy, greedy, drawn)

    def get_config(self):
        def plain(value):
            # A tensor's value when it is known (eager or constant), else the tensor itself.
            static = tf.get_static_value(value) if tf.is_tensor(value) else None
            return value if static is None else static.tolist()

        return {
            "temperature": plain(self.temperature),
            "top_k": plain(self.top_k),
            "top_p": plain(self.top_p),
            "seed": self.seed,
        }
