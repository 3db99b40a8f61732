"""Every family in `tfgen.models.MODELS` passes `FamilyContract`, on the tiniest model that works."""

import numpy as np
import tensorflow as tf
from family_contract import IMAGE_SIGNATURE_INPUTS, SIGNATURE_BATCH, FamilyContract

from tfgen import models

GAN = dict(latent_dim=4, filters=2)
STYLEGAN = dict(
    resolution=8,
    latent_dim=4,
    w_dim=4,
    mapping_layers=2,
    channel_base=32,
    channel_max=4,
    mbstd_group_size=2,
)
# Context 12, not 8: TFLite parity feeds `decode_step` positions uniform in [0, 10)
# (`tfgen.serving.random_inputs`), and GPT refuses positions past its context.
LM = dict(context_length=12, window_stride=1, dropout=0.0)
ALPHABET = "abcdefghij "  # A char tokenizer over these has 13 ids (with padding and unknown).
PROMPTS = ["ab", "jib"]  # One per row of the export inputs.
assert len(PROMPTS) == SIGNATURE_BATCH


class VAEContractTest(FamilyContract, tf.test.TestCase):
    family = "vae"
    config_values = dict(latent_dim=2, filters=2)


class DCGANContractTest(FamilyContract, tf.test.TestCase):
    family = "dcgan"
    config_values = GAN


class WGANGPContractTest(FamilyContract, tf.test.TestCase):
    family = "wgan_gp"
    config_values = dict(GAN, n_critic=2)


class CGANContractTest(FamilyContract, tf.test.TestCase):
    family = "cgan"
    config_values = GAN
    # TFLite parity feeds labels uniform in [0, 10) (`tfgen.serving.random_inputs`).
    num_classes = 10
    signature_inputs = {**IMAGE_SIGNATURE_INPUTS, "label": 3, "labels": [0, 9]}


class StyleGANContractTest(FamilyContract, tf.test.TestCase):
    family = "stylegan"
    config_values = STYLEGAN
    signature_inputs = {**IMAGE_SIGNATURE_INPUTS, "truncation_psi": 0.7}


class LanguageModelFamilyContract(FamilyContract):
    """Text families: a tiny `text:` file, greedy continuations as the samples."""

    signature_inputs = {
        "prompt": PROMPTS,
        "max_new_tokens": 3,
        "temperature": [0.0, 0.8],
        "top_k": [0, 3],
        "top_p": [1.0, 0.9],
        "seed": [0, 1],
        "position": 2,
    }

    @classmethod
    def write_dataset(cls, directory):
        rng = np.random.default_rng(0)
        path = directory / "letters.txt"
        path.write_text("".join(rng.choice(list(ALPHABET), 2000)), encoding="utf-8")
        return f"text:{path}"

    def samples(self, model):
        tokens = tf.constant([[3, 4, 5, 1, 2, 9]])
        text = model.generate_text(PROMPTS, sampler="greedy", max_new_tokens=6)
        return {"text": text, "logits": model(tokens)}

    def test_the_tiny_tokenizer_has_13_ids(self):
        self.assertEqual(self.model.vocab_size, 13)
        self.assertEqual(self.model.context_length, 12)


class GPTContractTest(LanguageModelFamilyContract, tf.test.TestCase):
    family = "gpt"
    config_values = dict(LM, n_layer=1, n_head=2, n_embd=8)


class CharLSTMContractTest(LanguageModelFamilyContract, tf.test.TestCase):
    family = "char_lstm"
    config_values = dict(LM, embedding_dim=4, units=8, num_layers=1)


class EveryFamilyHasAContractTest(tf.test.TestCase):
    def test_each_registered_family_has_a_contract_case(self):
        covered = {
            case.family
            for case in globals().values()
            if isinstance(case, type)
            and issubclass(case, FamilyContract)
            and issubclass(case, tf.test.TestCase)
        }
        self.assertEqual(covered, set(models.MODELS))
