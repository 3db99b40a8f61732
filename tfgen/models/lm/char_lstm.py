"""A recurrent language model: token embedding -> stacked LSTM -> logits.

Karpathy's char-rnn (http://karpathy.github.io/2015/05/21/rnn-effectiveness/)
with any tokenizer. Decoding carries the LSTM states as the cache, one step per token.
"""

import dataclasses

import keras
import tensorflow as tf

from tfgen.config import ConfigError, param
from tfgen.models.lm import LanguageModel, LMConfig


@dataclasses.dataclass
class CharLSTMConfig(LMConfig):
    """`LMConfig` plus the LSTM's sizes (`param`: `CharLSTM`'s arguments), trained with
    the same optimizer and schedule as `gpt`.

    Args:
        model: default `"char_lstm"`.
        embedding_dim: size of the character embedding.
        units: LSTM units per layer.
        num_layers: stacked LSTM layers.
    """

    model: str = "char_lstm"
    embedding_dim: int = param(64)
    units: int = param(256)
    num_layers: int = param(2)

    def __post_init__(self):
        super().__post_init__()
        for name in ("embedding_dim", "units", "num_layers"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}: must be a positive integer, got {getattr(self, name)}")


@keras.saving.register_keras_serializable(package="tfgen")
class CharLSTM(LanguageModel):
    """Embedding, `num_layers` LSTMs (dropout between them) and a dense output layer.

    Cache contract: a float32 tensor `[batch, num_layers, 2, units]` holding each
    layer's `(h, c)` after the tokens read so far (batch on axis 0, so beam search
    can repeat and reorder it). `next_fn` reads one token and advances it one step.

    Args:
        vocab_size: number of token ids.
        seed: seeds the initial weights and dropout masks.
        tokenizer: optional `tfgen.text.Tokenizer` of the ids (see `LanguageModel`).
        **kwargs: the hyper-parameters, `CharLSTMConfig`'s `param` keys
            (`context_length`, `embedding_dim`, `units`, `num_layers`, and `dropout`
            on the embedding and each LSTM's output), with its defaults and checks;
            then Keras `Model` arguments.

    Example:

    >>> model = tfgen.models.CharLSTM(vocab_size=65, context_length=64, units=128)
    >>> model.compile(optimizer=keras.optimizers.Adam(2e-3))
    >>> model.fit(tfgen.text.windows(tokens, 64, 32, seed=0), epochs=1)
    >>> model.generate([[20, 31, 45]], sampler="top_k", max_new_tokens=100, seed=0)
    """

    config_class = CharLSTMConfig

    def __init__(self, vocab_size, seed=0, tokenizer=None, **kwargs):
        super().__init__(vocab_size, seed, tokenizer, **kwargs)
        params = self.params
        self.embedding_dim = params["embedding_dim"]
        self.units = params["units"]
        self.num_layers = params["num_layers"]
        self.embedding = keras.layers.Embedding(
            self.vocab_size,
            self.embedding_dim,
            name="embedding",
            embeddings_initializer=keras.initializers.RandomUniform(-0.05, 0.05, seed=seed),
        )
        # One attribute per layer: tf.train.Checkpoint does not see inside Keras's tracked lists.
        for i in range(self.num_layers):
            setattr(
                self,
                f"lstm_{i}",
                keras.layers.LSTM(
                    self.units,
                    return_sequences=True,
                    return_state=True,
                    kernel_initializer=keras.initializers.GlorotUniform(seed=seed + i),
                    recurrent_initializer=keras.initializers.Orthogonal(seed=seed + 100 + i),
                    name=f"lstm_{i}",
                ),
            )
        for i in range(self.num_layers + 1):
            setattr(
                self,
                f"dropout_{i}",
                keras.layers.Dropout(self.dropout, seed=seed + i, name=f"dropout_{i}"),
            )
        self.head = keras.layers.Dense(
            self.vocab_size,
            kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 99),
            name="logits",
        )
        self.embedding.build((None, None))
        size = self.embedding_dim
        for lstm in self.lstms:
            lstm.build((None, None, size))
            size = self.units
        self.head.build((None, self.units))
        self.built = True

    @property
    def lstms(self):
        """The stacked LSTM layers, first to last."""
        return [getattr(self, f"lstm_{i}") for i in range(self.num_layers)]

    @property
    def dropouts(self):
        """Dropout on the embedding, then after each LSTM."""
        return [getattr(self, f"dropout_{i}") for i in range(self.num_layers + 1)]

    def call(self, tokens, training=False):
        """Logits `[batch, time, vocab]` of the token after each position."""
        outputs, _ = self._run(tokens, training)
        return outputs

    def _run(self, tokens, training=False):
        x = self.dropouts[0](self.embedding(tokens), training=training)
        states = []
        for lstm, dropout in zip(self.lstms, self.dropouts[1:]):
            x, h, c = lstm(x, training=training)
            states.append(tf.stack([h, c], axis=1))
            x = dropout(x, training=training)
        return self.head(x), tf.stack(states, axis=1)

    # Decoding -----------------------------------------------------------------------

    def initial_cache(self, batch_size):
        """Zero states: `[batch, num_layers, 2, units]`."""
        return tf.zeros([batch_size, self.num_layers, 2, self.units], self.compute_dtype)

    def prefill(self, tokens):
        tokens = tf.convert_to_tensor(tokens, tf.int32)
        if tokens.shape[1] == 0:
            return self.initial_cache(tf.shape(tokens)[0])
        _, cache = self._run(tokens)
        return cache

    def next_fn(self, prompt, cache, index):
        token = tf.gather(prompt, index - 1, axis=1)
        x = self.embedding(token)
        states = []
        for layer, lstm in enumerate(self.lstms):
            x, (h, c) = lstm.cell(x, [cache[:, layer, 0], cache[:, layer, 1]], training=False)
            states.append(tf.stack([h, c], axis=1))
        return self.head(x), tf.stack(states, axis=1)
