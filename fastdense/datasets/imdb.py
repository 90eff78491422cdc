"""IMDB movie reviews labelled by sentiment (`keras.datasets.imdb`)."""

import numpy as np

from fastdense.datasets import word_sequences
from fastdense.datasets.files import ORIGIN, cached_file, load_npz

_SHA256 = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"
_WORD_INDEX_MD5 = "bfafd718b763782e994055a2d397834f"


def load_data(path="imdb.npz", num_words=None, skip_top=0, maxlen=None, seed=113, start_char=1, oov_char=2,
              index_from=3, **kwargs):
    """Loads the IMDB dataset: 25,000 training and 25,000 test reviews, each a list of word
    indices (1 = most frequent word), labelled 0 (negative) or 1 (positive).

    Args:
        path: the file name in the cache (`~/.keras/datasets`).
        num_words: keep the words of index below num_words (after the shift); None: all.
        skip_top: also drop the skip_top most frequent words.
        maxlen: drop the reviews of maxlen words or more; None: keep all.
        seed: seed of the shuffle of each split (np.random.RandomState, as Keras).
        start_char: index put first in every review (None: none).
        oov_char: index replacing dropped words (None: they are removed).
        index_from: the word indices are shifted by this much.
        **kwargs: accepted and ignored, as Keras 3 does (Keras 2's deprecated arguments).

    Returns:
        `(x_train, y_train), (x_test, y_test)`: x an object array of lists, y int labels.
    """
    path = cached_file(path, ORIGIN + "imdb.npz", _SHA256)
    arrays = load_npz(path)
    rng = np.random.RandomState(seed)
    splits = []
    for x_key, y_key in (("x_train", "y_train"), ("x_test", "y_test")):
        x, labels = arrays[x_key], arrays[y_key]
        order = np.arange(len(x))
        rng.shuffle(order)  # one generator for both splits, in this order, as Keras
        splits.append((word_sequences.shift(x[order], start_char, index_from), labels[order]))
    (x_train, labels_train), (x_test, labels_test) = splits
    if maxlen:
        x_train, labels_train = word_sequences.drop_long(maxlen, x_train, labels_train)
        x_test, labels_test = word_sequences.drop_long(maxlen, x_test, labels_test)
        if not x_train or not x_test:
            raise ValueError(f"After filtering for sequences shorter than maxlen={maxlen}, no sequence was kept. "
                             "Increase maxlen.")
    sequences = word_sequences.limit_vocabulary(x_train + x_test, num_words, skip_top, oov_char)
    labels = np.concatenate([labels_train, labels_test])
    cut = len(x_train)
    return ((word_sequences.ragged(sequences[:cut]), labels[:cut]),
            (word_sequences.ragged(sequences[cut:]), labels[cut:]))


def get_word_index(path="imdb_word_index.json"):
    """The word -> index dict of the dataset (before the index_from shift)."""
    return word_sequences.read_word_index(cached_file(path, ORIGIN + "imdb_word_index.json", _WORD_INDEX_MD5))
