"""CharLSTM: cached decoding equals recomputation, XLA decoding, training, saving, bad input."""

import tensorflow as tf
from lm_contract import CONTEXT, VOCAB, LanguageModelContract

from tfgen.models.lm.char_lstm import CharLSTM, CharLSTMConfig


class CharLSTMTest(LanguageModelContract, tf.test.TestCase):
    model_class = CharLSTM
    config_class = CharLSTMConfig
    cache_shape = (2, 2, 2, 8)  # [batch, layers, (h, c), units]
    config_keys = {"embedding_dim": 4, "units": 8, "num_layers": 2, "dropout": 0.2}
    run_config_values = {"embedding_dim": 4, "units": 4, "num_layers": 1}
    weight_stddev = 2.0

    def new_model(self, width, num_layers, **kwargs):
        return CharLSTM(
            **{
                "vocab_size": VOCAB,
                "context_length": CONTEXT,
                "embedding_dim": width // 2,
                "units": width,
                "num_layers": num_layers,
                **kwargs,
            }
        )

    def test_generation_may_run_past_the_context_length(self):
        model = self.tiny_model()
        prompt = [[3, 4, 5]]
        cached = model.generate(prompt, max_new_tokens=2 * CONTEXT)
        self.assertEqual(cached.shape, (1, 3 + 2 * CONTEXT))
        self.assertAllEqual(
            cached, model.generate(prompt, max_new_tokens=2 * CONTEXT, use_cache=False)
        )
