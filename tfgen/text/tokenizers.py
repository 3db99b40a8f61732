"""Tokenizers: text to integer ids and back, in Python and as TensorFlow ops.

Two tokenizers share one interface (`Tokenizer`); both are trained on the train
split's documents and saved as JSON:

- `CharTokenizer`: one id per Unicode character. Its in-graph ops are core
  TensorFlow (`tf.strings.unicode_split` and a `tf.lookup.StaticHashTable`), so a
  SavedModel that tokenizes with it loads with plain TensorFlow.
- `SubwordTokenizer`: WordPiece, built on `tensorflow-text` (pinned to 2.21.1,
  the release that matches TF 2.21). Chosen over keras-hub's
  `WordPieceTokenizer`, which runs in `tf.data` and `tf.function` only with
  tensorflow-text installed anyway, pulls in more packages, and, like
  tensorflow-text's `BertTokenizer`, splits on whitespace and drops it, so its
  decoding cannot give back the text a language model was trained to write.
  `SentencepieceTokenizer` needs the separate `sentencepiece` package to train a
  model and trains on lines, dropping newlines. Here the text is first cut into
  "words" that keep everything: runs of letters and digits, runs of up to 16
  whitespace characters, and single other characters; each word is then
  WordPiece-tokenized and decoding joins the pieces back with nothing between
  them, so `decode(encode(text)) == text` for text made of known characters.
  A SavedModel that uses it needs `import tensorflow_text` before loading (it
  registers the ops), and TFLite cannot run it: use `CharTokenizer` there.

Both reserve id 0 for padding (decoded as `""`) and id 1 for unknown input
(decoded as U+FFFD); `vocab_size` counts both.
"""

import json
import types
from collections.abc import Iterable, Sequence

import tensorflow as tf

from tfgen.utils.files import write_atomically

PAD_ID = 0
UNK_ID = 1
PAD_TOKEN = "[PAD]"
UNK_TOKEN = "[UNK]"
UNK_TEXT = "\ufffd"
"""What `decode` writes for the unknown id (and for ids outside the vocabulary)."""

WORD_PATTERN = r"\s{1,16}|[^\pL\pN\s]"
"""RE2 pattern of the pieces `SubwordTokenizer` keeps as words between letter/digit runs."""


def iterate_texts(texts) -> Iterable[str]:
    """Yields Python strings from strings, bytes, or a dataset of strings or `{"text"}` dicts."""
    if isinstance(texts, tf.data.Dataset):
        texts = texts.as_numpy_iterator()
    for text in texts:
        if isinstance(text, dict):
            text = text["text"]
        yield text.decode("utf-8") if isinstance(text, bytes) else str(text)


class Tokenizer(tf.Module):
    """The shared interface: `encode`/`decode` in Python, `tf_encode`/`tf_decode` in graphs.

    A tokenizer is a `tf.Module`, so attaching it to a module that is saved with
    `tf.saved_model.save` saves its lookup tables too.

    Args:
        vocabulary: the tokens, indexed by id; `vocabulary[0]` is `PAD_TOKEN` and
            `vocabulary[1]` is `UNK_TOKEN`.
        name: the module name.
    """

    def __init__(self, vocabulary: Sequence[str], name=None):
        super().__init__(name=name)
        vocabulary = list(vocabulary)
        if vocabulary[:2] != [PAD_TOKEN, UNK_TOKEN] or len(set(vocabulary)) != len(vocabulary):
            raise ValueError(
                f"A vocabulary starts with {PAD_TOKEN!r}, {UNK_TOKEN!r} and has no repeated "
                f"tokens; got {vocabulary[:5]!r}... ({len(vocabulary)} tokens)."
            )
        self._vocabulary = tuple(vocabulary)
        texts = ["", UNK_TEXT] + [self.token_text(token) for token in vocabulary[2:]]
        self._texts = tuple(texts)
        self._id_text = tf.constant(texts, tf.string)

    @property
    def vocabulary(self) -> list:
        """The tokens, indexed by id."""
        return list(self._vocabulary)

    @property
    def vocab_size(self) -> int:
        """The number of ids, padding and unknown included."""
        return len(self._vocabulary)

    def token_text(self, token: str) -> str:
        """The text a vocabulary token stands for when decoding."""
        return token

    def encode(self, text: str) -> list:
        """Returns the ids of `text`, a Python string."""
        return self.tf_encode(tf.constant(text, tf.string)).numpy().tolist()

    def decode(self, ids: Iterable[int]) -> str:
        """Returns the text of `ids`; padding decodes to `""`, unknown ids to `UNK_TEXT`."""
        texts, size = self._texts, len(self._texts)
        return "".join(texts[i] if 0 <= i < size else UNK_TEXT for i in map(int, ids))

    def tf_encode(self, text) -> tf.Tensor:
        """Tokenizes in TensorFlow: a scalar string gives int32 ids `(n,)`, a vector ragged ids."""
        raise NotImplementedError

    def tf_decode(self, ids) -> tf.Tensor:
        """Decodes in TensorFlow: ids `(n,)` give a scalar string, `(b, n)` or ragged ids `(b,)`."""
        ids = tf.cast(ids, tf.int32)
        if isinstance(ids, tf.RaggedTensor):
            texts = tf.ragged.map_flat_values(self._gather_text, ids)
            return tf.strings.reduce_join(texts, axis=-1)
        return tf.strings.reduce_join(self._gather_text(ids), axis=-1)

    def _gather_text(self, ids):
        valid = (ids >= 0) & (ids < self.vocab_size)
        return tf.gather(self._id_text, tf.where(valid, ids, tf.fill(tf.shape(ids), UNK_ID)))

    def get_config(self) -> dict:
        """The constructor arguments, as JSON-serializable values."""
        raise NotImplementedError

    def serialize(self) -> dict:
        """`{"class": ..., "config": get_config()}`: JSON-serializable, read by `deserialize`."""
        return {"class": type(self).__name__, "config": self.get_config()}

    @classmethod
    def deserialize(cls, content: dict, source="the tokenizer config") -> "Tokenizer":
        """Rebuilds a tokenizer from `serialize()`'s dict; `Tokenizer.deserialize` reads either kind."""
        classes = {c.__name__: c for c in TOKENIZERS.values()}
        kind = classes.get(content.get("class")) if isinstance(content, dict) else None
        if kind is None or not issubclass(kind, cls):
            found = content.get("class") if isinstance(content, dict) else content
            raise ValueError(
                f"{source} holds a {found!r}, not a {cls.__name__} (valid: {', '.join(classes)})."
            )
        return kind(**content["config"])

    def save(self, path) -> None:
        """Writes the tokenizer as JSON, `serialize()`'s dict (atomically)."""
        write_atomically(path, json.dumps(self.serialize(), indent=1) + "\n")

    @classmethod
    def load(cls, path) -> "Tokenizer":
        """Reads a tokenizer written by `save`; `Tokenizer.load` reads either kind."""
        with open(path, encoding="utf-8") as file:
            return cls.deserialize(json.load(file), source=str(path))


class CharTokenizer(Tokenizer):
    """One id per Unicode character (code point): the sorted characters of the training texts.

    Args:
        characters: the distinct characters, given ids 2, 3, ... in this order.
        name: the module name.
    """

    def __init__(self, characters: Sequence[str], name=None):
        characters = list(characters)
        if any(len(c) != 1 for c in characters):
            raise ValueError(
                f"CharTokenizer characters must be single characters; got {characters!r}."
            )
        super().__init__([PAD_TOKEN, UNK_TOKEN] + characters, name=name)
        self._ids = types.MappingProxyType({c: i for i, c in enumerate(characters, start=2)})
        self._table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(characters, tf.string),
                tf.range(2, len(characters) + 2, dtype=tf.int32),
            ),
            default_value=UNK_ID,
        )

    @classmethod
    def train(cls, texts, name=None) -> "CharTokenizer":
        """Builds the vocabulary from strings, or a dataset of strings or `{"text"}` dicts."""
        characters = set()
        for text in iterate_texts(texts):
            characters.update(text)
        return cls(sorted(characters), name=name)

    def encode(self, text: str) -> list:
        """Returns the ids of `text`, a Python string; unknown characters give `UNK_ID`."""
        ids = self._ids
        return [ids.get(c, UNK_ID) for c in text]

    def tf_encode(self, text) -> tf.Tensor:
        """Tokenizes in TensorFlow; invalid UTF-8 bytes become U+FFFD (so, usually, unknown)."""
        characters = tf.strings.unicode_split(text, "UTF-8", errors="replace")
        return self._table.lookup(characters)

    def get_config(self) -> dict:
        return {"characters": self.vocabulary[2:]}


class SubwordTokenizer(Tokenizer):
    """WordPiece on words that keep whitespace and punctuation, so decoding is exact.

    Args:
        vocabulary: the pieces, indexed by id, starting with `PAD_TOKEN`,
            `UNK_TOKEN`; pieces that continue a word start with `"##"`.
        max_bytes_per_word: longer words (letter runs) become one unknown id.
        name: the module name.
    """

    def __init__(self, vocabulary: Sequence[str], max_bytes_per_word: int = 100, name=None):
        import tensorflow_text  # Deferred: only subword tokenization needs it.

        super().__init__(vocabulary, name=name)
        self.max_bytes_per_word = int(max_bytes_per_word)
        self._table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(self.vocabulary, tf.string), tf.range(self.vocab_size, dtype=tf.int64)
            ),
            default_value=UNK_ID,
        )
        self._wordpiece = tensorflow_text.WordpieceTokenizer(
            self._table,
            suffix_indicator="##",
            max_bytes_per_word=self.max_bytes_per_word,
            token_out_type=tf.int64,
            unknown_token=UNK_TOKEN,
            split_unknown_characters=True,
        )

    def token_text(self, token: str) -> str:
        return token[2:] if token.startswith("##") else token

    @staticmethod
    def split_words(text):
        """Cuts text into WordPiece words: letter/digit runs, whitespace runs, other characters."""
        import tensorflow_text

        return tensorflow_text.regex_split(text, WORD_PATTERN, WORD_PATTERN)

    @classmethod
    def train(
        cls,
        texts,
        vocab_size: int = 1000,
        max_bytes_per_word: int = 100,
        name=None,
        **learner_options,
    ) -> "SubwordTokenizer":
        """Learns a WordPiece vocabulary of at most `vocab_size` pieces from texts.

        Uses tensorflow-text's vocabulary learner, which searches a count threshold
        for a size between 95% and 100% of `vocab_size`; every character seen gets
        a piece, so the result can be larger when `vocab_size` is below twice the
        number of distinct characters.

        Args:
            texts: strings, or a dataset of strings or `{"text"}` dicts.
            vocab_size: the target number of ids, padding and unknown included.
            max_bytes_per_word: see the class.
            name: the module name.
            **learner_options: passed to
                `tensorflow_text.tools.wordpiece_vocab.wordpiece_tokenizer_learner_lib.learn`,
                e.g. `lower_thresh`, `max_unique_chars`.
        """
        from tensorflow_text.tools.wordpiece_vocab import wordpiece_tokenizer_learner_lib as learner

        counts = {}
        for text in iterate_texts(texts):
            for word in cls.split_words(tf.constant(text)).flat_values.numpy():
                counts[word] = counts.get(word, 0) + 1
        word_counts = {w.decode("utf-8", errors="replace"): n for w, n in counts.items()}
        vocabulary = learner.learn(
            word_counts,
            vocab_size,
            reserved_tokens=[PAD_TOKEN, UNK_TOKEN],
            **learner_options,
        )
        return cls(vocabulary, max_bytes_per_word=max_bytes_per_word, name=name)

    def tf_encode(self, text) -> tf.Tensor:
        text = tf.convert_to_tensor(text, tf.string)
        # regex_split turns a scalar into a batch of one: [1, words].
        pieces = self._wordpiece.tokenize(self.split_words(text)).merge_dims(-2, -1)
        if text.shape.rank == 0:
            pieces = pieces[0]
        return tf.cast(pieces, tf.int32)

    def get_config(self) -> dict:
        return {"vocabulary": self.vocabulary, "max_bytes_per_word": self.max_bytes_per_word}


TOKENIZERS = {"char": CharTokenizer, "subword": SubwordTokenizer}
"""Tokenizers by name; each has `train(texts, ...)`, `load(path)` and the `Tokenizer` methods."""


def get(name: str):
    """Returns the tokenizer class registered as `name` (`"char"` or `"subword"`)."""
    if name not in TOKENIZERS:
        raise ValueError(f"Unknown tokenizer {name!r}; valid tokenizers: {', '.join(TOKENIZERS)}.")
    return TOKENIZERS[name]


def load_tokenizer(path) -> Tokenizer:
    """Reads a tokenizer of either kind written by `Tokenizer.save`."""
    return Tokenizer.load(path)
