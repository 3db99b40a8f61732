"""GPT: cached decoding equals recomputation, XLA decoding, training, saving, bad input."""

import tensorflow as tf
from lm_contract import CONTEXT, VOCAB, LanguageModelContract

from tfgen.models.lm.gpt import GPT, GPTConfig


class GPTTest(LanguageModelContract, tf.test.TestCase):
    model_class = GPT
    config_class = GPTConfig
    cache_shape = (2, 2, 2, CONTEXT, 2, 4)  # [batch, layers, (k, v), context, heads, head_dim]
    config_keys = {"n_layer": 2, "n_head": 2, "n_embd": 8, "dropout": 0.2}
    run_config_values = {"n_layer": 1, "n_head": 2, "n_embd": 4}
    weight_stddev = 0.5

    def new_model(self, width, num_layers, **kwargs):
        return GPT(
            **{
                "vocab_size": VOCAB,
                "context_length": CONTEXT,
                "n_layer": num_layers,
                "n_head": 2,
                "n_embd": width,
                **kwargs,
            }
        )

    def test_text_longer_than_the_context_is_written_in_sliding_windows(self):
        model = self.tiny_model()
        prompts = [[1, 2, 3], [4, 5, 6, 7, 8]]
        long = model.generate(prompts, max_new_tokens=30, seed=3)
        self.assertEqual(long.shape, (2, 5 + 30))
        self.assertAllEqual(long[0, :3], [1, 2, 3])
        self.assertAllEqual(long[0, 33:], [0, 0])  # The shorter prompt's row ends with zeros.
        # The first window is ordinary decoding: prompt + new tokens fill the context.
        first = model.generate(prompts, max_new_tokens=CONTEXT - 5, seed=3)
        self.assertAllEqual(long[1, :CONTEXT], first[1])
        # Later windows continue from the last CONTEXT // 2 tokens, seeded per window.
        tail = long[1].numpy().tolist()
        window = tail[CONTEXT - CONTEXT // 2 : CONTEXT]
        second = model.generate([window], max_new_tokens=CONTEXT - len(window), seed=3 + 1_000_003)
        self.assertAllEqual(tail[CONTEXT : 2 * CONTEXT - len(window)], second[0, len(window) :])
        # Greedy decoding with a stop token ends a row in a later window too.
        greedy = model.generate([[1, 2, 3]], max_new_tokens=30)[0].numpy().tolist()
        stop = greedy[20]
        if stop not in greedy[3:20]:
            stopped = model.generate([[1, 2, 3]], max_new_tokens=30, stop_token_ids=[stop])
            self.assertAllEqual(stopped[0, :21], greedy[:21])
            self.assertAllEqual(stopped[0, 21:], [stop] * 12)

    def test_input_longer_than_the_context_is_an_error(self):
        model = self.tiny_model()
        with self.assertRaisesRegex(ValueError, f"more than context_length {CONTEXT}"):
            model.generate([list(range(CONTEXT + 1))], max_new_tokens=1)
        with self.assertRaisesRegex(ValueError, f"context_length {CONTEXT}"):
            model(tf.zeros([1, 13], tf.int32))

    def test_weights_are_tied(self):
        model = self.tiny_model()
        names = [v.path for v in model.weights]
        self.assertEqual(len([n for n in names if "embeddings" in n]), 2)  # wte and wpe only
        self.assertNotIn("logits", " ".join(names))
