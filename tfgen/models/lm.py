"""Shared base of the language-model families: next-token loss, metrics and decoding.

A language model maps int32 tokens `[batch, time]` to logits `[batch, time, vocab]`
(causally: position `t` sees tokens `<= t`) and is trained on `(inputs, targets)`
windows from `tfgen.text.windows`. The loss is the cross-entropy in nats per token,
averaged over the GLOBAL batch; `bits_per_token = loss / ln 2` (bits per character
with the char tokenizer).

Decoding follows the sampler contract of `tfgen.samplers.base`: a family implements
`initial_cache(batch)`, `prefill(tokens)` (a parallel pass over the prompt but its
last token, returning the cache) and `next_fn(prompt, cache, index)` (ONE step: it
reads only `prompt[:, index - 1]` and the cache). `generate` runs a sampler over
them inside a `tf.function` (optionally `jit_compile=True`).
"""

import dataclasses
import math
import random
from typing import Optional

import keras
import tensorflow as tf

from tfgen import samplers
from tfgen.config import TrainConfig, choices
from tfgen.models.base import GenerativeModel
from tfgen.schedules import learning_rate

TOKENIZER_KINDS = ("char", "subword")


@dataclasses.dataclass
class LMConfig(TrainConfig):
    """`TrainConfig` plus the keys every language model shares.

    Args:
        dataset: default `"shakespeare"`.
        batch_size: windows per batch (nanoGPT's CPU "baby" run uses 12).
        context_length: tokens per training window; the longest prompt, and for
            a Transformer the longest prompt + generated text.
        tokenizer: `"char"` (one id per character) or `"subword"` (WordPiece).
        vocab_size: target vocabulary size of the subword tokenizer (ignored for char).
        dropout: dropout rate inside the network while training.
        weight_decay: decoupled weight decay of AdamW (Loshchilov & Hutter 2019),
            applied to weight matrices only (not biases, norms or embeddings).
        window_stride: tokens between training-window starts; `None` means
            `context_length` (each token a target about once per epoch).
        sampler: sampler of the text written each epoch (`tfgen.samplers.names()`).
        temperature: temperature of that sampler.
        sample_prompt: prompt of the text written each epoch.
        sample_tokens: tokens generated after it.
    """

    dataset: str = "shakespeare"
    batch_size: int = 32
    epochs: int = 10
    context_length: int = 64
    tokenizer: str = dataclasses.field(default="char", metadata=choices(*TOKENIZER_KINDS))
    vocab_size: int = 1000
    dropout: float = 0.0
    weight_decay: float = 0.0
    window_stride: Optional[int] = None
    sampler: str = dataclasses.field(default="top_k", metadata=choices(*samplers.names()))
    temperature: float = 0.8
    sample_prompt: str = "ROMEO:"
    sample_tokens: int = 32


class LanguageModel(GenerativeModel):
    """Base class of next-token models (`CharLSTM`, `GPT`).

    Subclasses build their layers, call `super().__init__`, and implement
    `call(tokens, training)`, `prefill(tokens)` and `next_fn(prompt, cache, index)`.

    Args:
        vocab_size: number of token ids.
        context_length: tokens per training window and longest prompt.
        dropout: dropout rate while training.
        seed: seeds the dropout masks.
    """

    serving_default = "logits"

    def __init__(self, vocab_size, context_length=64, dropout=0.0, seed=0, **kwargs):
        super().__init__(**kwargs)
        for name, value in (("vocab_size", vocab_size), ("context_length", context_length)):
            if int(value) < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.vocab_size = int(vocab_size)
        self.context_length = int(context_length)
        self.dropout = float(dropout)
        self.seed = seed
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.bits_tracker = keras.metrics.Mean(name="bits_per_token")
        object.__setattr__(self, "_generate_fns", {})

    @classmethod
    def model_kwargs(cls, config):
        """The family's constructor arguments from `config` (besides the shared ones)."""
        return {}

    @classmethod
    def from_run_config(cls, config, info, steps_per_epoch=1, tokenizer=None):
        """Builds the model for a text dataset.

        `tokenizer` (trained on the train split, saved in the run directory) sets
        `vocab_size`; the fit loop must build it before the model.
        """
        if info.modality != "text":
            raise ValueError(f"{cls.__name__} models text; dataset {info.name!r} is "
                             f"{info.modality}")
        if tokenizer is None:
            raise ValueError(f"{cls.__name__}.from_run_config needs the run's tokenizer "
                             f"(its vocab_size sets the embedding and output sizes)")
        return cls(vocab_size=tokenizer.vocab_size, context_length=config.context_length,
                   dropout=config.dropout, seed=config.seed, **cls.model_kwargs(config))

    def compile_from_run_config(self, config, jit_compile, steps_per_epoch):
        optimizer = keras.optimizers.AdamW(learning_rate(config, steps_per_epoch),
                                           weight_decay=config.weight_decay)
        optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta", "embeddings"])
        self.compile(optimizer=optimizer, jit_compile=jit_compile)

    @property
    def metrics(self):
        return [self.loss_tracker, self.bits_tracker]

    # Loss ---------------------------------------------------------------------------

    def per_example_loss(self, inputs, targets, training=False):
        """Mean cross-entropy per window, in nats per token: `[batch]`."""
        logits = self(inputs, training=training)
        per_token = tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=tf.cast(targets, tf.int32), logits=tf.cast(logits, tf.float32))
        return tf.reduce_mean(per_token, axis=-1)

    def _update_metrics(self, per_example):
        self.loss_tracker.update_state(per_example)
        self.bits_tracker.update_state(per_example / math.log(2.0))
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data):
        inputs, targets = data[0], data[1]
        with tf.GradientTape() as tape:
            per_example = self.per_example_loss(inputs, targets, training=True)
            # Averaged over the GLOBAL batch: the update is the same for any replica count.
            loss = tf.nn.compute_average_loss(per_example)
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables))
        return self._update_metrics(per_example)

    def test_step(self, data):
        return self._update_metrics(self.per_example_loss(data[0], data[1]))

    # Decoding -----------------------------------------------------------------------

    def initial_cache(self, batch_size):
        """The cache before any token was read (batch on axis 0)."""
        raise NotImplementedError

    def prefill(self, tokens):
        """The cache after reading `tokens` `[batch, n]` (n may be 0), in one parallel pass."""
        raise NotImplementedError

    def next_fn(self, prompt, cache, index):
        """One cached step: logits for position `index` from `prompt[:, index - 1]` and `cache`."""
        raise NotImplementedError

    def uncached_next_fn(self, prompt, cache, index):
        """Reference step that recomputes the whole buffer; the cache is passed through."""
        logits = self(prompt, training=False)
        return tf.gather(logits, index - 1, axis=1), cache

    def max_total_length(self):
        """The longest prompt + generated text, or `None` for no limit."""
        return None

    def check_prompt(self, prompt_length, max_new_tokens):
        """Raises a ValueError naming the limit for an empty, too long or overlong request."""
        if prompt_length is None or prompt_length < 1:
            raise ValueError("the prompt is empty; generation needs at least one prompt token")
        if prompt_length > self.context_length:
            raise ValueError(f"the prompt has {prompt_length} tokens, more than context_length "
                             f"{self.context_length}")
        if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) \
                or max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be an integer >= 1, got {max_new_tokens!r}")
        limit = self.max_total_length()
        if limit is not None and prompt_length + max_new_tokens > limit:
            raise ValueError(f"prompt ({prompt_length} tokens) + max_new_tokens "
                             f"({max_new_tokens}) exceeds context_length {limit}")

    def generate(self, prompt_ids, sampler="greedy", max_new_tokens=32, seed=None,
                 stop_token_ids=None, use_cache=True, jit_compile=False):
        """Continues prompts with a sampler, in graph (`tf.function`).

        Args:
            prompt_ids: int `[batch, length]` or `[length]` prompt tokens, or
                prompts of different lengths (a list of lists or a `tf.RaggedTensor`).
            sampler: a sampler name, config dict or `Sampler` (`tfgen.samplers.get`).
            max_new_tokens: tokens generated after each prompt.
            seed: int seed of the stochastic samplers; `None` draws one.
            stop_token_ids: optional ids that end a row (see `Sampler`).
            use_cache: False recomputes the whole prefix at every step (a
                reference for tests; slower).
            jit_compile: compile the decoding loop with XLA.

        Returns:
            int32 `[batch, length + max_new_tokens]` (`[length + max_new_tokens]` for
            a 1-D prompt): each prompt followed by its generated tokens. With prompts
            of different lengths, `length` is the longest and a shorter row ends with
            zeros after its `max_new_tokens` tokens.

        Raises:
            ValueError: for an empty prompt, one longer than `context_length`, or
                (GPT) prompt + `max_new_tokens` beyond `context_length`.
        """
        buffer, mask, start, single = self._prompt_buffer(prompt_ids, max_new_tokens)
        sampler = samplers.get(sampler)
        seed = random.SystemRandom().randrange(2**31 - 1) if seed is None else seed
        stops = None if stop_token_ids is None else tuple(int(i) for i in stop_token_ids)
        key = (repr(sampler), start, max_new_tokens, stops, bool(use_cache), bool(jit_compile))
        if key not in self._generate_fns:
            self._generate_fns[key] = self._make_generate_fn(sampler, start, max_new_tokens,
                                                             stops, use_cache, jit_compile)
        tokens = self._generate_fns[key](buffer, mask, tf.constant(seed, tf.int32))
        return tokens[0] if single else tokens

    def _prompt_buffer(self, prompt_ids, max_new_tokens):
        """`(buffer, mask, shortest prompt length, single)` after checking the prompts."""
        single = False
        if isinstance(prompt_ids, tf.RaggedTensor):
            ragged = tf.cast(prompt_ids, tf.int32)
        elif (isinstance(prompt_ids, (list, tuple)) and prompt_ids
              and all(isinstance(row, (list, tuple)) for row in prompt_ids)
              and len({len(row) for row in prompt_ids}) > 1):
            ragged = tf.ragged.constant(prompt_ids, tf.int32)
        else:
            prompt = tf.convert_to_tensor(prompt_ids, tf.int32)
            single = prompt.shape.rank == 1
            prompt = prompt[tf.newaxis] if single else prompt
            if prompt.shape.rank != 2:
                raise ValueError(f"prompt_ids must be [batch, length] or [length], got "
                                 f"{prompt.shape}")
            ragged = tf.RaggedTensor.from_tensor(prompt)
        lengths = ragged.row_lengths().numpy()
        if lengths.size == 0:
            raise ValueError("prompt_ids holds no prompt; generation needs at least one")
        longest, shortest = int(lengths.max()), int(lengths.min())
        self.check_prompt(shortest, max_new_tokens)
        self.check_prompt(longest, max_new_tokens)
        total = longest + max_new_tokens
        buffer = ragged.to_tensor(0, shape=[len(lengths), total])
        mask = tf.sequence_mask(lengths, total)
        return buffer, mask, shortest, single

    def _make_generate_fn(self, sampler, start, max_new_tokens, stop_token_ids, use_cache,
                          jit_compile):
        @tf.function(jit_compile=jit_compile, reduce_retracing=False)
        def run(buffer, mask, seed):
            # Positions < start are read in one pass (prefill); longer prompts are
            # teacher-forced through next_fn by the sampler (mask).
            if use_cache:
                cache, next_fn = self.prefill(buffer[:, :start - 1]), self.next_fn
            else:
                cache, next_fn = None, self.uncached_next_fn
            return sampler(next_fn, buffer, cache=cache, index=start, mask=mask, seed=seed,
                           stop_token_ids=stop_token_ids, max_new_tokens=max_new_tokens)

        return run

    def sample_images(self, num, seed):
        raise NotImplementedError(f"{type(self).__name__} generates text: use generate()")

    def summary_images(self, examples, seed):
        return {}

    def export_endpoints(self, sampler="temperature"):
        """`logits` (tokens -> logits) and `generate` (prompt, seed -> `context_length` tokens).

        `generate` takes a rectangular int32 prompt `[batch, length]` (1 <= length <=
        context_length) and fills a buffer of `context_length` tokens with `sampler`,
        reading the prompt one token at a time (no prefill: shapes stay dynamic).
        """
        sampler = samplers.get(sampler)
        context = self.context_length

        @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32, name="tokens")])
        def logits(tokens):
            return {"logits": self(tokens, training=False)}

        @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32, name="prompt"),
                                      tf.TensorSpec([], tf.int32, name="seed")])
        def generate(prompt, seed):
            batch, length = tf.shape(prompt)[0], tf.shape(prompt)[1]
            tf.debugging.assert_positive(length, message="the prompt is empty")
            tf.debugging.assert_less_equal(length, context, message=(
                f"the prompt is longer than context_length {context}"))
            buffer = tf.reshape(tf.pad(prompt, [[0, 0], [0, context - length]]), [-1, context])
            mask = tf.sequence_mask(tf.fill([batch], length), context)
            tokens = sampler(self.next_fn, buffer, cache=self.initial_cache(batch), index=1,
                             mask=mask, seed=seed)
            return {"tokens": tokens}

        return {"logits": logits, "generate": generate}

    def get_config(self):
        return {
            **super().get_config(),
            "vocab_size": self.vocab_size,
            "context_length": self.context_length,
            "dropout": self.dropout,
            "seed": self.seed,
        }
