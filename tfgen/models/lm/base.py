"""Shared base of the language-model families: next-token loss, metrics and decoding.

A language model maps int32 tokens `[batch, time]` to logits `[batch, time, vocab]`
(causally: position `t` sees tokens `<= t`) and is trained on `(inputs, targets)`
windows from `tfgen.text.windows`. The loss is the cross-entropy in nats per token,
averaged over the GLOBAL batch; `bits_per_token = loss / ln 2`. With a tokenizer the
model also reports `bits_per_character`: the bits of all targets over the characters
they decode to (equal to `bits_per_token` with the char tokenizer; the comparable
number for a subword tokenizer).

Decoding follows the sampler contract of `tfgen.samplers.base`: a family implements
`initial_cache(batch)`, `prefill(tokens)` (a parallel pass over the prompt but its
last token, returning the cache) and `next_fn(prompt, cache, index)` (ONE step: it
reads only `prompt[:, index - 1]` and the cache). `generate` runs a sampler over
them inside a `tf.function` (optionally `jit_compile=True`).
"""

import dataclasses
import math
import random

import keras
import tensorflow as tf

from tfgen import samplers
from tfgen.config import ConfigError, TrainConfig, choices, param
from tfgen.models.base import GenerativeModel
from tfgen.models.lm import decoding as lm_decoding
from tfgen.ops.schedules import learning_rate
from tfgen.text.tokenizers import Tokenizer

TOKENIZER_KINDS = ("char", "subword")


@dataclasses.dataclass
class LMConfig(TrainConfig):
    """`TrainConfig` plus the keys every language model shares (defaults: nanoGPT's CPU
    "baby" run of config/train_shakespeare_char.py); `context_length` and `dropout`
    are the model's arguments (`param`).

    Args:
        dataset: the complete works of Shakespeare; 3 whole plays held out for
            validation, 3 for test.
        batch_size: windows per batch (nanoGPT's CPU "baby" run uses 12).
        epochs: 8 epochs of `steps_per_epoch`: 2000 iterations, as nanoGPT's baby run.
        steps_per_epoch: batches between evaluations, samples and checkpoints
            (with `window_stride: 1` a full pass would be millions of batches).
        context_length: tokens per training window; the longest prompt, and for
            a Transformer the longest prompt + generated text.
        tokenizer: `"char"` (one id per character: bits per token = bits per
            character) or `"subword"` (WordPiece).
        vocab_size: target vocabulary size of the subword tokenizer (ignored for char).
        dropout: dropout rate inside the network while training: 0, as nanoGPT's baby
            run (2000 iterations see a fraction of the corpus).
        weight_decay: decoupled weight decay of AdamW (Loshchilov & Hutter 2019),
            applied to weight matrices and embeddings (not biases or norms), as
            nanoGPT (0.1).
        beta_2: AdamW's second-moment decay (0.99 suits small batches, as in nanoGPT).
        clip_norm: gradients are rescaled so their global norm is at most this
            (nanoGPT's `grad_clip`); `None` turns clipping off.
        warmup_steps: linear learning-rate warm-up steps before the cosine decay
            (nanoGPT's `warmup_iters`).
        min_learning_rate: where the cosine decay ends (nanoGPT's `min_lr`,
            `learning_rate / 10`).
        window_stride: tokens between training-window starts: 1 (every start,
            drawn in a seeded random order, as nanoGPT samples) or `None` for
            `context_length` (each token a target once per full pass).
        sampler: sampler of the text written each epoch (`tfgen.samplers.names()`).
        temperature: temperature of that sampler: 0.8, slightly sharper than the
            model, fewer misspellings.
        sample_prompt: prompt of the text written each epoch.
        sample_tokens: tokens generated after it.
    """

    dataset: str = "shakespeare"
    batch_size: int = 32
    epochs: int = 8
    steps_per_epoch: int | None = 250
    context_length: int = param(64)
    tokenizer: str = dataclasses.field(default="char", metadata=choices(*TOKENIZER_KINDS))
    vocab_size: int = 1000
    dropout: float = param(0.0)
    weight_decay: float = 0.1
    beta_2: float = 0.99
    clip_norm: float | None = 1.0
    warmup_steps: int = 100
    min_learning_rate: float = 1e-4
    window_stride: int | None = 1
    sampler: str = dataclasses.field(default="temperature", metadata=choices(*samplers.names()))
    temperature: float = 0.8
    sample_prompt: str = "ROMEO:"
    sample_tokens: int = 200

    def __post_init__(self):
        super().__post_init__()
        if self.context_length < 1:
            raise ConfigError(
                f"context_length: must be a positive integer, got {self.context_length}"
            )
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"dropout: must be in [0, 1), got {self.dropout}")


class LanguageModel(GenerativeModel):
    """Base class of next-token models (`CharLSTM`, `GPT`).

    Subclasses build their layers, call `super().__init__`, and implement
    `call(tokens, training)`, `prefill(tokens)` and `next_fn(prompt, cache, index)`.

    Args:
        vocab_size: number of token ids (the tokenizer's).
        seed: seeds the initial weights and the dropout masks.
        tokenizer: optional `tfgen.text.Tokenizer` (or its `serialize()` dict) that
            maps text to this model's ids. It travels with `model.save` and makes
            `generate_text` and the exported string `generate` signature work.
        **kwargs: the hyper-parameters, the `param` keys of the family's config
            (`context_length`, `dropout` and the family's sizes), with its defaults
            and checks; then Keras `Model` arguments.
    """

    serving_default = "generate"
    # `next_token_logits` is not listed: CharLSTM's full-sequence pass (a Keras LSTM
    # loop over a dynamic batch) has no TFLite lowering; `decode_step` covers devices.
    tflite_endpoints = ("decode_step",)
    metric_groups = ("ppl",)
    modality = "text"

    def __init__(self, vocab_size, seed=0, tokenizer=None, **kwargs):
        params = self.take_params(kwargs)
        super().__init__(**kwargs)
        if int(vocab_size) < 1:
            raise ValueError(f"vocab_size must be at least 1, got {vocab_size}")
        self.vocab_size = int(vocab_size)
        self.context_length = params["context_length"]
        self.dropout = params["dropout"]
        self.seed = seed
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.bits_tracker = keras.metrics.Mean(name="bits_per_token")
        self.bpc_tracker = keras.metrics.Mean(name="bits_per_character")
        object.__setattr__(self, "_generate_fns", {})
        self.tokenizer = tokenizer

    @property
    def tokenizer(self):
        """The `tfgen.text.Tokenizer` of this model's ids, or `None`."""
        return self._tokenizer

    @tokenizer.setter
    def tokenizer(self, tokenizer):
        if isinstance(tokenizer, dict):
            tokenizer = Tokenizer.deserialize(tokenizer)
        if tokenizer is not None:
            if not isinstance(tokenizer, Tokenizer):
                raise ValueError(
                    f"tokenizer must be a tfgen.text.Tokenizer or its serialize() "
                    f"dict, got {type(tokenizer).__name__}"
                )
            if tokenizer.vocab_size > self.vocab_size:
                raise ValueError(
                    f"the tokenizer has {tokenizer.vocab_size} ids but the model "
                    f"only {self.vocab_size} (vocab_size)"
                )
        # Not tracked by Keras: the tokenizer holds lookup tables, not weights.
        object.__setattr__(self, "_tokenizer", tokenizer)
        if tokenizer is not None:  # Characters each id decodes to (padding: none).
            lengths = [len(tokenizer.decode([i])) for i in range(tokenizer.vocab_size)]
            lengths += [1] * (self.vocab_size - len(lengths))
            object.__setattr__(self, "_token_characters", tf.constant(lengths, tf.int32))

    @classmethod
    def run_arguments(cls, config, info, steps_per_epoch=1, tokenizer=None):
        """The dataset's vocabulary: `tokenizer` (trained on the train split, saved in
        the run directory) sets `vocab_size`; the fit loop builds it before the model."""
        if tokenizer is None:
            raise ValueError(
                f"{cls.__name__}.from_run_config needs the run's tokenizer "
                f"(its vocab_size sets the embedding and output sizes)"
            )
        return {"vocab_size": tokenizer.vocab_size, "seed": config.seed, "tokenizer": tokenizer}

    def compile_from_run_config(self, config, jit_compile, steps_per_epoch):
        schedule = learning_rate(
            config,
            steps_per_epoch,
            warmup_steps=config.warmup_steps,
            minimum=config.min_learning_rate,
        )
        optimizer = keras.optimizers.AdamW(
            schedule,
            weight_decay=config.weight_decay,
            beta_2=config.beta_2,
            global_clipnorm=config.clip_norm,
        )
        # As nanoGPT: every matrix decays (embeddings included), biases and norms do not.
        optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
        self.compile(optimizer=optimizer, jit_compile=jit_compile)

    @property
    def metrics(self):
        trackers = [self.loss_tracker, self.bits_tracker]
        return trackers + ([self.bpc_tracker] if self.tokenizer is not None else [])

    # Loss ---------------------------------------------------------------------------

    def per_example_loss(self, inputs, targets, training=False):
        """Mean cross-entropy per window, in nats per token: `[batch]`."""
        logits = self(inputs, training=training)
        per_token = tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=tf.cast(targets, tf.int32), logits=tf.cast(logits, tf.float32)
        )
        return tf.reduce_mean(per_token, axis=-1)

    def _update_metrics(self, per_example, targets):
        self.loss_tracker.update_state(per_example)
        self.bits_tracker.update_state(per_example / math.log(2.0))
        if self.tokenizer is not None:
            # Bits per character of the target text: total bits / total characters.
            characters = tf.gather(self._token_characters, tf.cast(targets, tf.int32))
            characters = tf.reduce_sum(tf.cast(characters, tf.float32), axis=-1)
            nats = per_example * tf.cast(tf.shape(targets)[-1], tf.float32)
            self.bpc_tracker.update_state(
                nats / math.log(2.0) / tf.maximum(characters, 1.0), sample_weight=characters
            )
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data):
        inputs, targets = data[0], data[1]
        with tf.GradientTape() as tape:
            per_example = self.per_example_loss(inputs, targets, training=True)
            # Averaged over the GLOBAL batch: the update is the same for any replica count.
            loss = tf.nn.compute_average_loss(per_example)
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables))
        return self._update_metrics(per_example, targets)

    def test_step(self, data):
        return self._update_metrics(self.per_example_loss(data[0], data[1]), data[1])

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
        """Raises a ValueError naming the limit for an empty or too long prompt or a bad count."""
        if prompt_length is None or prompt_length < 1:
            raise ValueError("the prompt is empty; generation needs at least one prompt token")
        if prompt_length > self.context_length:
            raise ValueError(
                f"the prompt has {prompt_length} tokens, more than context_length "
                f"{self.context_length}"
            )
        if (
            isinstance(max_new_tokens, bool)
            or not isinstance(max_new_tokens, int)
            or max_new_tokens < 1
        ):
            raise ValueError(f"max_new_tokens must be an integer >= 1, got {max_new_tokens!r}")

    def generate(
        self,
        prompt_ids,
        sampler="greedy",
        max_new_tokens=32,
        seed=None,
        stop_token_ids=None,
        use_cache=True,
        jit_compile=False,
    ):
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
            zeros after its `max_new_tokens` tokens. The padding id 0 is never generated. When prompt + `max_new_tokens`
            exceeds what the model reads at once (GPT's `context_length`), the text
            is written in sliding windows (`tfgen.models.lm.decoding`).

        Raises:
            ValueError: for an empty prompt, one longer than `context_length`, or
                `max_new_tokens` < 1.
        """
        ragged, single = lm_decoding.as_ragged(prompt_ids)
        lengths = lm_decoding.prompt_lengths(ragged)
        shortest, longest = int(lengths.min()), int(lengths.max())
        self.check_prompt(shortest, max_new_tokens)
        self.check_prompt(longest, max_new_tokens)
        sampler = samplers.get(sampler)
        seed = random.SystemRandom().randrange(2**31 - 1) if seed is None else seed
        stops = None if stop_token_ids is None else tuple(int(i) for i in stop_token_ids)
        limit = self.max_total_length()
        if limit is not None and longest + max_new_tokens > limit:

            def segment(prompts, new_tokens, segment_seed):
                return self.generate(
                    prompts, sampler, new_tokens, segment_seed, stops, use_cache, jit_compile
                )

            tokens = lm_decoding.generate_in_windows(
                segment, ragged, lengths, max_new_tokens, limit, seed, stops
            )
            return tokens[0] if single else tokens
        buffer, mask = lm_decoding.prompt_buffer(ragged, lengths, max_new_tokens)
        key = (repr(sampler), shortest, max_new_tokens, stops, bool(use_cache), bool(jit_compile))
        if key not in self._generate_fns:
            self._generate_fns[key] = self._make_generate_fn(
                sampler, shortest, max_new_tokens, stops, use_cache, jit_compile
            )
        tokens = self._generate_fns[key](buffer, mask, tf.constant(seed, tf.int32))
        return tokens[0] if single else tokens

    def generate_text(
        self,
        prompts,
        sampler="greedy",
        max_new_tokens=32,
        seed=None,
        stop_texts=None,
        jit_compile=False,
    ):
        """Continues text prompts: `generate` with the model's tokenizer around it.

        Args:
            prompts: a string, or a list of strings (of any lengths).
            sampler: a sampler name, config dict or `Sampler` (`tfgen.samplers.get`).
            max_new_tokens: tokens generated after each prompt.
            seed: int seed of the stochastic samplers; `None` draws one.
            stop_texts: optional strings that each encode to ONE token (e.g.
                `["\n"]` with the char tokenizer); a row ends after generating one.
            jit_compile: compile the decoding loop with XLA.

        Returns:
            The continuation of each prompt (without the prompt): a string for a
            string, a list of strings for a list.

        Raises:
            ValueError: if the model has no tokenizer, a prompt is empty or too
                long (see `generate`), or a stop text is not a single token.
        """
        if self.tokenizer is None:
            raise ValueError(
                f"this {type(self).__name__} has no tokenizer; pass tokenizer= "
                f"when building it, or use generate() with token ids"
            )
        single = isinstance(prompts, str)
        ids = lm_decoding.encode_prompts(self.tokenizer, [prompts] if single else prompts)
        stops = lm_decoding.stop_token_ids(self.tokenizer, stop_texts)
        tokens = self.generate(
            tf.ragged.constant(ids, tf.int32),
            sampler=sampler,
            max_new_tokens=max_new_tokens,
            seed=seed,
            stop_token_ids=stops,
            jit_compile=jit_compile,
        ).numpy()
        outputs = lm_decoding.decode_continuations(
            self.tokenizer, tokens, ids, max_new_tokens, stops
        )
        return outputs[0] if single else outputs

    def _make_generate_fn(
        self, sampler, start, max_new_tokens, stop_token_ids, use_cache, jit_compile
    ):
        @tf.function(jit_compile=jit_compile, reduce_retracing=False)
        def run(buffer, mask, seed):
            # Positions < start are read in one pass (prefill); longer prompts are
            # teacher-forced through next_fn by the sampler (mask).
            if use_cache:
                cache, next_fn = self.prefill(buffer[:, : start - 1]), self.next_fn
            else:
                cache, next_fn = None, self.uncached_next_fn
            next_fn = lm_decoding.without_padding(next_fn)
            return sampler(
                next_fn,
                buffer,
                cache=cache,
                index=start,
                mask=mask,
                seed=seed,
                stop_token_ids=stop_token_ids,
                max_new_tokens=max_new_tokens,
            )

        return run

    def sample_images(self, num, seed):
        raise NotImplementedError(f"{type(self).__name__} generates text: use generate()")

    def summary_images(self, examples, seed):
        return {}

    def export_resources(self):
        """The tokenizer (its lookup tables), which the exported text signatures read."""
        return {} if self.tokenizer is None else {"tokenizer": self.tokenizer}

    def export_endpoints(self):
        """`generate` (text in, text out), `next_token_logits`, `decode_step` and `logits`.

        See `tfgen.models.lm.endpoints.language_model_endpoints` for the inputs
        and outputs of each signature.

        Raises:
            ValueError: if the model has no tokenizer.
        """
        from tfgen.models.lm.endpoints import language_model_endpoints

        return language_model_endpoints(self)

    def get_config(self):
        return {
            **super().get_config(),
            "vocab_size": self.vocab_size,
            "seed": self.seed,
            "tokenizer": None if self.tokenizer is None else self.tokenizer.serialize(),
            **self.params,
        }
