"""A recurrent language model: token embedding -> stacked LSTM -> logits.

Karpathy's char-rnn (http://karpathy.github.io/2015/05/21/rnn-effectiveness/)
with any tokenizer. Decoding carries the LSTM states as the cache, one step per token.
"""

import dataclasses

import keras
import tensorflow as tf

from tfgen.models.lm import LanguageModel, LMConfig


@dataclasses.dataclass
class CharLSTMConfig(LMConfig):
    """`LMConfig` plus the LSTM's sizes.

    Args:
        model: default `"char_lstm"`.
        embedding_dim: size of the token embedding.
        units: LSTM units per layer.
        num_layers: stacked LSTM layers.
    """

    model: str = "char_lstm"
    embedding_dim: int = 64
    units: int = 256
    num_layers: int = 2


@keras.saving.register_keras_serializable(package="tfgen")
class CharLSTM(LanguageModel):
    """Embedding, `num_layers` LSTMs (dropout between them) and a dense output layer.

    Cache contract: a float32 tensor `[batch, num_layers, 2, units]` holding each
    layer's `(h, c)` after the tokens read so far (batch on axis 0, so beam search
    can repeat and reorder it). `next_fn` reads one token and advances it one step.

    Args:
        vocab_size: number of token ids.
        context_length: tokens per training window and longest prompt.
        embedding_dim: size of the token embedding.
        units: LSTM units per layer.
        num_layers: number of stacked LSTMs.
        dropout: dropout rate on the embedding and each LSTM's output while training.
        seed: seeds the initial weights and dropout masks.

    Example:

    >>> model = tfgen.models.CharLSTM(vocab_size=65, context_length=64, units=128)
    >>> model.compile(optimizer=keras.optimizers.Adam(2e-3))
    >>> model.fit(tfgen.text.windows(tokens, 64, 32, seed=0), epochs=1)
    >>> model.generate([[20, 31, 45]], sampler="top_k", max_new_tokens=100, seed=0)
    """

    config_class = CharLSTMConfig

    def __init__(
        self,
        vocab_size,
        context_length=64,
        embedding_dim=64,
        units=256,
        num_layers=2,
        dropout=0.0,
        seed=0,
        **kwargs,
    ):
        super().__init__(vocab_size, context_length, dropout, seed, **kwargs)
        if int(num_layers) < 1:
            raise ValueError(f"num_layers must be at least 1, got {num_layers}")
        self.embedding_dim = int(embedding_dim)
        self.units = int(units)
        self.num_layers = int(num_layers)
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

    @classmethod
    def model_kwargs(cls, config):
        return {
            "embedding_dim": config.embedding_dim,
            "units": config.units,
            "num_layers": config.num_layers,
        }

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

    def get_config(self):
        return {
            **super().get_config(),
            "embedding_dim": self.embedding_dim,
            "units": self.units,
            "num_layers": self.num_layers,
        }
