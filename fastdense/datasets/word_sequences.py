"""What imdb and reuters do to their word-index sequences (`keras/src/datasets/imdb.py`):
indices shifted by `index_from` after a `start_char`, sequences of `maxlen` words or more
dropped, rare and `skip_top` frequent words replaced by `oov_char` or removed."""

import json

import numpy as np


def shift(sequences, start_char, index_from):
    """Word indices + index_from, each sequence after start_char (when not None)."""
    if start_char is not None:
        return [[start_char] + [w + index_from for w in seq] for seq in sequences]
    if index_from:
        return [[w + index_from for w in seq] for seq in sequences]
    return [list(seq) for seq in sequences]


def drop_long(maxlen, sequences, labels):
    """The sequences shorter than maxlen (strictly, as Keras's remove_long_seq), with their labels."""
    kept = [(seq, label) for seq, label in zip(sequences, labels) if len(seq) < maxlen]
    return [seq for seq, _ in kept], [label for _, label in kept]


def limit_vocabulary(sequences, num_words, skip_top, oov_char):
    """Words outside [skip_top, num_words) become oov_char, or are removed when it is None;
    num_words None or 0: the largest index in the data, as Keras (which keeps it out too)."""
    if not num_words:
        num_words = max(max(seq) for seq in sequences)
    if oov_char is not None:
        return [[w if skip_top <= w < num_words else oov_char for w in seq] for seq in sequences]
    return [[w for w in seq if skip_top <= w < num_words] for seq in sequences]


def ragged(sequences):
    """Sequences as a 1-D object array of lists, as Keras returns them."""
    return np.array(sequences, dtype="object")


def read_word_index(path):
    with open(path) as file:
        return json.load(file)
