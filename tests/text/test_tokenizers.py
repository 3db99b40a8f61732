"""Tests for the character and subword tokenizers: ids, round trips, graphs, JSON and SavedModels."""

import json

import tensorflow as tf

from tfgen import text
from tfgen.text import tokenizers

TRAIN = [
    "ROMEO:\nBut soft, what light through yonder window breaks?\n",
    "JULIET:\n  O Romeo, Romeo! wherefore art thou Romeo?\n\n",
    "Café naïve — Romeo's window.\n",
]


def saved_and_loaded(module, directory):
    tf.saved_model.save(module, directory)
    return tf.saved_model.load(directory)


class TokenizerModule(tf.Module):
    """What an export does: a module holding a tokenizer, with signatures that use it."""

    def __init__(self, tokenizer):
        super().__init__()
        self.tokenizer = tokenizer

    @tf.function(input_signature=[tf.TensorSpec([], tf.string)])
    def encode(self, text):
        return self.tokenizer.tf_encode(text)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.int32)])
    def decode(self, ids):
        return self.tokenizer.tf_decode(ids)


class CharTokenizerTest(tf.test.TestCase):
    def setUp(self):
        super().setUp()
        self.tokenizer = text.CharTokenizer.train(TRAIN)
        self.characters = sorted(set("".join(TRAIN)))

    def test_vocabulary_is_padding_unknown_then_the_sorted_characters(self):
        self.assertEqual(self.tokenizer.vocabulary, ["[PAD]", "[UNK]"] + self.characters)
        self.assertEqual(self.tokenizer.vocab_size, len(self.characters) + 2)
        self.assertEqual(self.tokenizer.encode("\n"), [2])  # "\n" sorts first.
        self.assertEqual(self.tokenizer.encode("—"), [self.tokenizer.vocab_size - 1])

    def test_round_trip_and_unknown_characters(self):
        sample = "O Romeo, Café — naïve!\n"
        self.assertEqual(self.tokenizer.decode(self.tokenizer.encode(sample)), sample)
        ids = self.tokenizer.encode("Oz\U0001f600")
        self.assertEqual(ids[1:], [text.UNK_ID, text.UNK_ID])
        self.assertEqual(self.tokenizer.decode(ids), "O\ufffd\ufffd")
        self.assertEqual(self.tokenizer.decode([0, ids[0], 0, 10**6, -3]), "O\ufffd\ufffd")

    def test_trains_from_a_dataset_of_documents(self):
        dataset = tf.data.Dataset.from_tensor_slices({"text": TRAIN})
        self.assertEqual(text.CharTokenizer.train(dataset).vocabulary, self.tokenizer.vocabulary)

    def test_graph_ops_match_python(self):
        sample = "Café, Romeo?\U0001f600"
        ids = self.tokenizer.tf_encode(tf.constant(sample))
        self.assertEqual(ids.dtype, tf.int32)
        self.assertAllEqual(ids, self.tokenizer.encode(sample))
        self.assertEqual(self.tokenizer.tf_decode(ids).numpy().decode(), self.tokenizer.decode(ids))
        batch = self.tokenizer.tf_encode(tf.constant(["ab", "Romeo"]))
        self.assertIsInstance(batch, tf.RaggedTensor)
        self.assertEqual(
            batch.to_list(), [self.tokenizer.encode("ab"), self.tokenizer.encode("Romeo")]
        )
        self.assertAllEqual(self.tokenizer.tf_decode(batch), [b"ab", b"Romeo"])
        padded = batch.to_tensor()  # Padding with id 0 decodes to nothing.
        self.assertAllEqual(self.tokenizer.tf_decode(padded), [b"ab", b"Romeo"])

    def test_runs_inside_tf_data_map(self):
        dataset = tf.data.Dataset.from_tensor_slices(TRAIN).map(self.tokenizer.tf_encode)
        self.assertEqual(
            [list(ids) for ids in dataset.as_numpy_iterator()],
            [self.tokenizer.encode(t) for t in TRAIN],
        )

    def test_json_round_trip(self):
        path = self.create_tempfile().full_path
        self.tokenizer.save(path)
        with open(path) as file:
            self.assertEqual(json.load(file)["class"], "CharTokenizer")
        for loader in (text.CharTokenizer.load, text.load_tokenizer):
            loaded = loader(path)
            self.assertIsInstance(loaded, text.CharTokenizer)
            self.assertEqual(loaded.vocabulary, self.tokenizer.vocabulary)
            self.assertEqual(loaded.encode(TRAIN[2]), self.tokenizer.encode(TRAIN[2]))
        with self.assertRaisesRegex(ValueError, "not a SubwordTokenizer"):
            text.SubwordTokenizer.load(path)

    def test_tokenizes_inside_a_saved_model(self):
        loaded = saved_and_loaded(TokenizerModule(self.tokenizer), self.create_tempdir().full_path)
        sample = "JULIET: naïve?"
        ids = loaded.encode(tf.constant(sample))
        self.assertAllEqual(ids, self.tokenizer.encode(sample))
        self.assertEqual(loaded.decode(ids).numpy().decode(), sample)

    def test_rejects_a_bad_vocabulary(self):
        with self.assertRaisesRegex(ValueError, "single characters"):
            text.CharTokenizer(["a", "bc"])
        with self.assertRaisesRegex(ValueError, "no repeated tokens"):
            text.CharTokenizer(["a", "a"])


class SubwordTokenizerTest(tf.test.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tokenizer = text.SubwordTokenizer.train(TRAIN * 5, vocab_size=120, lower_thresh=2)

    def test_vocabulary_has_reserved_ids_and_subwords(self):
        vocabulary = self.tokenizer.vocabulary
        self.assertEqual(vocabulary[:2], ["[PAD]", "[UNK]"])
        self.assertLessEqual(self.tokenizer.vocab_size, 120)
        self.assertIn("Romeo", vocabulary)
        self.assertIn("##e", vocabulary)

    def test_decoding_gives_back_the_text_exactly(self):
        for sample in TRAIN + ["  Romeo,\n\n\nwindow breaks   light?", "naïve Café"]:
            ids = self.tokenizer.encode(sample)
            self.assertNotIn(text.UNK_ID, ids)
            self.assertEqual(self.tokenizer.decode(ids), sample)
        # Whole words are single ids: fewer ids than characters.
        self.assertLess(len(self.tokenizer.encode(TRAIN[1])), len(TRAIN[1]) // 2)

    def test_an_unknown_character_is_one_unknown_id(self):
        ids = self.tokenizer.encode("Romeo\U0001f600 Romeo")
        self.assertEqual(ids.count(text.UNK_ID), 1)
        self.assertEqual(self.tokenizer.decode(ids), "Romeo\ufffd Romeo")

    def test_graph_ops_and_tf_data(self):
        batch = self.tokenizer.tf_encode(tf.constant(TRAIN[:2]))
        self.assertEqual(batch.to_list(), [self.tokenizer.encode(t) for t in TRAIN[:2]])
        self.assertAllEqual(self.tokenizer.tf_decode(batch), [t.encode() for t in TRAIN[:2]])
        documents = tf.data.Dataset.from_tensor_slices({"text": TRAIN})
        ids = list(text.tokenize(documents, self.tokenizer).as_numpy_iterator())
        self.assertEqual([list(i) for i in ids], [self.tokenizer.encode(t) for t in TRAIN])

    def test_json_round_trip_and_saved_model(self):
        path = self.create_tempfile().full_path
        self.tokenizer.save(path)
        loaded = text.load_tokenizer(path)
        self.assertIsInstance(loaded, text.SubwordTokenizer)
        self.assertEqual(loaded.encode(TRAIN[0]), self.tokenizer.encode(TRAIN[0]))
        module = saved_and_loaded(TokenizerModule(loaded), self.create_tempdir().full_path)
        ids = module.encode(tf.constant(TRAIN[1]))
        self.assertAllEqual(ids, self.tokenizer.encode(TRAIN[1]))
        self.assertEqual(module.decode(ids).numpy().decode(), TRAIN[1])


class RegistryTest(tf.test.TestCase):
    def test_names(self):
        self.assertIs(tokenizers.get("char"), text.CharTokenizer)
        self.assertIs(tokenizers.get("subword"), text.SubwordTokenizer)
        with self.assertRaisesRegex(ValueError, "valid tokenizers: char, subword"):
            tokenizers.get("bpe")


if __name__ == "__main__":
    tf.test.main()
