"""Text for language models: tokenizers and next-token training windows.

Text datasets come from `tfgen.data.load` (`shakespeare`, `text:<path>`, text
`tfds:` datasets) as `{"text": tf.string}` documents. A tokenizer is trained on
the train split, documents become ids with `tokenize`, and `windows` cuts them
into batched `(inputs, targets)` pairs:

    train_docs, info = tfgen.data.load("shakespeare", "train")
    tokenizer = CharTokenizer.train(train_docs)
    batches = windows(tokenize(train_docs, tokenizer), context_length=64,
                      batch_size=32, seed=0, name="shakespeare train")
"""

from tfgen.text.tokenizers import (
    PAD_ID,
    TOKENIZERS,
    UNK_ID,
    CharTokenizer,
    SubwordTokenizer,
    Tokenizer,
    get,
    load_tokenizer,
)
from tfgen.text.windows import concatenate, tokenize, window_count, windows

__all__ = [
    "PAD_ID",
    "UNK_ID",
    "TOKENIZERS",
    "Tokenizer",
    "CharTokenizer",
    "SubwordTokenizer",
    "get",
    "load_tokenizer",
    "tokenize",
    "concatenate",
    "window_count",
    "windows",
]
