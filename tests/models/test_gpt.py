"""GPT: cached decoding equals recomputation, XLA decoding, training, saving, bad input."""

import tensorflow as tf

from lm_contract import CONTEXT, VOCAB, LanguageModelContract
from tfgen.models.gpt import GPT, GPTConfig


class GPTTest(LanguageModelContract, tf.test.TestCase):
    model_class = GPT
    config_class = GPTConfig
    cache_shape = (2, 2, 2, CONTEXT, 2, 4)  # [batch, layers, (k, v), context, heads, head_dim]
    config_keys = {"n_layer": 2, "n_head": 2, "n_embd": 8, "dropout": 0.2}
    run_config_values = {"n_layer": 1, "n_head": 2, "n_embd": 4}
    weight_stddev = 0.5

    def new_model(self, width, num_layers, **kwargs):
        return GPT(**{"vocab_size": VOCAB, "context_length": CONTEXT, "n_layer": num_layers,
                      "n_head": 2, "n_embd": width, **kwargs})

    def test_prompt_and_new_tokens_must_fit_the_context(self):
        model = self.tiny_model()
        with self.assertRaisesRegex(ValueError, f"exceeds context_length {CONTEXT}"):
            model.generate([[1, 2, 3]], max_new_tokens=10)
        with self.assertRaisesRegex(ValueError, f"context_length {CONTEXT}"):
            model(tf.zeros([1, 13], tf.int32))

    def test_weights_are_tied(self):
        model = self.tiny_model()
        names = [v.path for v in model.weights]
        self.assertEqual(len([n for n in names if "embeddings" in n]), 2)  # wte and wpe only
        self.assertNotIn("logits", " ".join(names))
