"""A decoder-only Transformer language model (GPT-2 layout, as in nanoGPT).

Token + learned position embeddings, `n_layer` pre-layer-norm blocks of causal
self-attention and an MLP, a final layer norm, and logits through the transposed
token embedding (weight tying). Radford et al. 2019, "Language Models are
Unsupervised Multitask Learners",
https://cdn.openai.com/better-language-models/language_models_are_unsupervised_multitask_learners.pdf
"""

import dataclasses
import math

import keras
import tensorflow as tf

from tfgen.config import ConfigError, param
from tfgen.models.lm import LanguageModel, LMConfig

_NEG = -1e9


@dataclasses.dataclass
class GPTConfig(LMConfig):
    """`LMConfig` plus the Transformer's sizes (`param`: `GPT`'s arguments; defaults:
    nanoGPT's CPU "baby" run: 4 layers, 4 heads, 128-d, context 64, batch 12).

    Args:
        model: default `"gpt"`.
        batch_size: windows per batch: 12, as nanoGPT's baby run.
        n_layer: Transformer blocks.
        n_head: attention heads; must divide `n_embd`.
        n_embd: width of the residual stream.
    """

    model: str = "gpt"
    batch_size: int = 12
    n_layer: int = param(4)
    n_head: int = param(4)
    n_embd: int = param(128)

    def __post_init__(self):
        super().__post_init__()
        for name in ("n_layer", "n_head", "n_embd"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}: must be a positive integer, got {getattr(self, name)}")
        if self.n_embd % self.n_head:
            raise ConfigError(f"n_head: must divide n_embd {self.n_embd}, got {self.n_head}")


def _normal(seed, stddev=0.02):
    return keras.initializers.RandomNormal(stddev=stddev, seed=seed)


@keras.saving.register_keras_serializable(package="tfgen")
class TransformerBlock(keras.layers.Layer):
    """Pre-LN block: `x + attn(ln1(x))`, then `x + mlp(ln2(x))`, with causal attention.

    `call(x)` runs the full causal pass and returns `(y, keys, values)`, keys and
    values `[batch, time, n_head, head_dim]`; `step(x, keys, values, position)`
    runs one position `[batch, 1, n_embd]` against cached `[batch, context, n_head,
    head_dim]` keys/values (its own written at `position`) and returns them updated.

    Args:
        n_embd: width; n_head: heads; dropout: rate; n_layer: depth (scales the
        output projections' initialization); seed: initializer/dropout seed.
    """

    def __init__(self, n_embd, n_head, dropout=0.0, n_layer=1, seed=0, **kwargs):
        super().__init__(**kwargs)
        if n_embd % n_head:
            raise ValueError(f"n_head {n_head} must divide n_embd {n_embd}")
        self.n_embd, self.n_head, self.dropout, self.n_layer, self.seed = (
            n_embd,
            n_head,
            dropout,
            n_layer,
            seed,
        )
        self.head_dim = n_embd // n_head
        proj_init = _normal(seed + 1, 0.02 / math.sqrt(2 * n_layer))
        self.ln1 = keras.layers.LayerNormalization(epsilon=1e-5, name="ln1")
        self.qkv = keras.layers.Dense(3 * n_embd, kernel_initializer=_normal(seed), name="qkv")
        self.attn_proj = keras.layers.Dense(n_embd, kernel_initializer=proj_init, name="attn_proj")
        self.ln2 = keras.layers.LayerNormalization(epsilon=1e-5, name="ln2")
        self.fc = keras.layers.Dense(
            4 * n_embd, activation="gelu", kernel_initializer=_normal(seed + 2), name="fc"
        )
        self.mlp_proj = keras.layers.Dense(n_embd, kernel_initializer=proj_init, name="mlp_proj")
        self.attn_drop = keras.layers.Dropout(dropout, seed=seed + 3)
        self.resid_drop1 = keras.layers.Dropout(dropout, seed=seed + 4)
        self.resid_drop2 = keras.layers.Dropout(dropout, seed=seed + 5)

    def build(self, input_shape=None):
        for layer, size in (
            (self.ln1, self.n_embd),
            (self.qkv, self.n_embd),
            (self.attn_proj, self.n_embd),
            (self.ln2, self.n_embd),
            (self.fc, self.n_embd),
            (self.mlp_proj, 4 * self.n_embd),
        ):
            layer.build((None, None, size))
        self.built = True

    def _split_heads(self, x):
        shape = tf.shape(x)
        q, k, v = tf.split(self.qkv(x), 3, axis=-1)
        return [tf.reshape(t, [shape[0], shape[1], self.n_head, self.head_dim]) for t in (q, k, v)]

    def _attend(self, q, k, v, visible, training):
        """q `[b, tq, h, d]`, k/v `[b, tk, h, d]`; visible: bool, broadcasts to `[b, h, tq, tk]`."""
        scores = tf.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(self.head_dim)
        weights = tf.nn.softmax(tf.where(visible, scores, tf.cast(_NEG, scores.dtype)), axis=-1)
        weights = self.attn_drop(weights, training=training)
        out = tf.einsum("bhqk,bkhd->bqhd", weights, v)
        shape = tf.shape(out)
        return tf.reshape(out, [shape[0], shape[1], self.n_embd])

    def _mlp(self, x, training):
        return x + self.resid_drop2(self.mlp_proj(self.fc(self.ln2(x))), training=training)

    def call(self, x, training=False):
        q, k, v = self._split_heads(self.ln1(x))
        length = tf.shape(x)[1]
        causal = tf.range(length)[:, None] >= tf.range(length)[None, :]
        attended = self._attend(q, k, v, causal[None, None], training)
        x = x + self.resid_drop1(self.attn_proj(attended), training=training)
        return self._mlp(x, training), k, v

    def step(self, x, keys, values, position):
        q, k, v = self._split_heads(self.ln1(x))
        positions = tf.range(tf.shape(keys)[1])
        write = (positions == position)[None, :, None, None]
        keys, values = tf.where(write, k, keys), tf.where(write, v, values)
        visible = (positions <= position)[None, None, None, :]
        x = x + self.attn_proj(self._attend(q, keys, values, visible, False))
        return self._mlp(x, False), keys, values

    def get_config(self):
        return {
            **super().get_config(),
            "n_embd": self.n_embd,
            "n_head": self.n_head,
            "dropout": self.dropout,
            "n_layer": self.n_layer,
            "seed": self.seed,
        }


@keras.saving.register_keras_serializable(package="tfgen")
class GPT(LanguageModel):
    """Decoder-only Transformer with learned positions and a tied output embedding.

    Cache contract: a tensor `[batch, n_layer, 2, context_length, n_head, head_dim]`
    (keys at `[:, l, 0]`, values at `[:, l, 1]`; batch on axis 0 for beam search).
    `next_fn(prompt, cache, index)` embeds only `prompt[:, index - 1]`, writes its
    keys/values at position `index - 1` and attends over positions `<= index - 1`:
    its cost is fixed (one query against `context_length` slots), whatever the
    prefix length. Prompt + generated text fit in `context_length`.

    Args:
        vocab_size: number of token ids.
        seed: seeds the initial weights and dropout masks.
        tokenizer: optional `tfgen.text.Tokenizer` of the ids (see `LanguageModel`).
        **kwargs: the hyper-parameters, `GPTConfig`'s `param` keys (`context_length`,
            the number of learned positions; `n_layer`, `n_head`, `n_embd`; `dropout`
            on embeddings, attention weights and residual branches), with its
            defaults and checks; then Keras `Model` arguments.

    Example:

    >>> model = tfgen.models.GPT(vocab_size=65, context_length=64, n_layer=4, n_head=4,
    ...                          n_embd=128)
    >>> model.compile(optimizer=keras.optimizers.AdamW(1e-3))
    >>> model.fit(tfgen.text.windows(tokens, 64, 12, seed=0), epochs=1)
    >>> model.generate([[20, 31, 45]], sampler="top_p", max_new_tokens=60, seed=0,
    ...                jit_compile=True)
    """

    config_class = GPTConfig

    def __init__(self, vocab_size, seed=0, tokenizer=None, **kwargs):
        super().__init__(vocab_size, seed, tokenizer, **kwargs)
        params = self.params
        self.n_layer, self.n_head, self.n_embd = (
            params["n_layer"],
            params["n_head"],
            params["n_embd"],
        )
        self.head_dim = self.n_embd // self.n_head
        self.wte = keras.layers.Embedding(
            self.vocab_size, self.n_embd, embeddings_initializer=_normal(seed), name="wte"
        )
        self.wpe = keras.layers.Embedding(
            self.context_length, self.n_embd, embeddings_initializer=_normal(seed + 1), name="wpe"
        )
        self.embed_drop = keras.layers.Dropout(self.dropout, seed=seed + 2)
        # One attribute per block: tf.train.Checkpoint does not see inside Keras's tracked lists.
        for i in range(self.n_layer):
            setattr(
                self,
                f"block_{i}",
                TransformerBlock(
                    self.n_embd,
                    self.n_head,
                    self.dropout,
                    self.n_layer,
                    seed=seed + 10 * (i + 1),
                    name=f"block_{i}",
                ),
            )
        self.ln_f = keras.layers.LayerNormalization(epsilon=1e-5, name="ln_f")
        self.wte.build((None, None))
        self.wpe.build((None, None))
        for block in self.blocks:
            block.build()
        self.ln_f.build((None, None, self.n_embd))
        self.built = True

    @property
    def blocks(self):
        """The Transformer blocks, first to last."""
        return [getattr(self, f"block_{i}") for i in range(self.n_layer)]

    def max_total_length(self):
        return self.context_length

    def _logits(self, x):
        return tf.matmul(self.ln_f(x), tf.cast(self.wte.embeddings, x.dtype), transpose_b=True)

    def _run(self, tokens, training=False):
        tokens = tf.convert_to_tensor(tokens, tf.int32)
        if tokens.shape.rank == 2 and (tokens.shape[1] or 0) > self.context_length:
            raise ValueError(
                f"the input has {tokens.shape[1]} tokens, more than context_length "
                f"{self.context_length}"
            )
        length = tf.shape(tokens)[1]
        x = self.embed_drop(self.wte(tokens) + self.wpe(tf.range(length))[None], training=training)
        keys, values = [], []
        for block in self.blocks:
            x, k, v = block(x, training=training)
            keys.append(k)
            values.append(v)
        return self._logits(x), keys, values

    def call(self, tokens, training=False):
        """Logits `[batch, time, vocab]` of the next token at each position (time <= context)."""
        return self._run(tokens, training)[0]

    # Decoding -----------------------------------------------------------------------

    def initial_cache(self, batch_size):
        """Empty key/value slots: `[batch, n_layer, 2, context_length, n_head, head_dim]`."""
        return tf.zeros(
            [batch_size, self.n_layer, 2, self.context_length, self.n_head, self.head_dim],
            self.compute_dtype,
        )

    def prefill(self, tokens):
        tokens = tf.convert_to_tensor(tokens, tf.int32)
        length = tokens.shape[1]
        if length == 0:
            return self.initial_cache(tf.shape(tokens)[0])
        _, keys, values = self._run(tokens)
        padding = [[0, 0], [0, self.context_length - length], [0, 0], [0, 0]]
        layers = [
            tf.stack([tf.pad(k, padding), tf.pad(v, padding)], axis=1) for k, v in zip(keys, values)
        ]
        return tf.stack(layers, axis=1)

    def next_fn(self, prompt, cache, index):
        position = index - 1
        token = tf.gather(prompt, position, axis=1)
        x = (self.wte(token) + self.wpe(position))[:, None]
        layers = []
        for i, block in enumerate(self.blocks):
            x, keys, values = block.step(x, cache[:, i, 0], cache[:, i, 1], position)
            layers.append(tf.stack([keys, values], axis=1))
        return self._logits(x)[:, 0], tf.stack(layers, axis=1)
