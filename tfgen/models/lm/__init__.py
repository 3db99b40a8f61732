"""The language-model families (`char_lstm`, `gpt`): a shared base, decoding and endpoints."""

from tfgen.models.lm.base import LanguageModel, LMConfig
from tfgen.models.lm.char_lstm import CharLSTM, CharLSTMConfig
from tfgen.models.lm.gpt import GPT, GPTConfig
