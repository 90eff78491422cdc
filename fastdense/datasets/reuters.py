"""Reuters newswires labelled by one of 46 topics (`keras.datasets.reuters`)."""

import numpy as np

from fastdense.datasets import word_sequences
from fastdense.datasets.files import ORIGIN, cached_file, load_npz

_SHA256 = "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"
_WORD_INDEX_MD5 = "4d44cc38712099c9e383dc6e5f11a921"
_LABEL_NAMES = (
    "cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing", "money-supply", "coffee", "sugar",
    "trade", "reserves", "ship", "cotton", "carcass", "crude", "nat-gas", "cpi", "money-fx", "interest", "gnp",
    "meal-feed", "alum", "oilseed", "gold", "tin", "strategic-metal", "livestock", "retail", "ipi", "iron-steel",
    "rubber", "heat", "jobs", "lei", "bop", "zinc", "orange", "pet-chem", "dlr", "gas", "silver", "wpi", "hog",
    "lead")


def load_data(path="reuters.npz", num_words=None, skip_top=0, maxlen=None, test_split=0.2, seed=113, start_char=1,
              oov_char=2, index_from=3):
    """Loads the Reuters newswire dataset: 11,228 newswires as lists of word indices, labelled
    by topic (46 topics, see get_label_names).

    Args:
        path: the file name in the cache (`~/.keras/datasets`).
        num_words, skip_top, maxlen, start_char, oov_char, index_from: as imdb.load_data.
        test_split: fraction of the newswires kept for the test set.
        seed: seed of the shuffle before the split.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: x an object array of lists, y int labels.
    """
    path = cached_file(path, ORIGIN + "reuters.npz", _SHA256)
    arrays = load_npz(path)
    x, labels = arrays["x"], arrays["y"]
    order = np.arange(len(x))
    np.random.RandomState(seed).shuffle(order)
    sequences, labels = word_sequences.shift(x[order], start_char, index_from), labels[order]
    if maxlen:
        sequences, labels = word_sequences.drop_long(maxlen, sequences, labels)
    sequences = word_sequences.limit_vocabulary(sequences, num_words, skip_top, oov_char)
    cut = int(len(sequences) * (1 - test_split))
    return ((word_sequences.ragged(sequences[:cut]), np.array(labels[:cut])),
            (word_sequences.ragged(sequences[cut:]), np.array(labels[cut:])))


def get_word_index(path="reuters_word_index.json"):
    """The word -> index dict of the dataset (before the index_from shift)."""
    return word_sequences.read_word_index(cached_file(path, ORIGIN + "reuters_word_index.json", _WORD_INDEX_MD5))


def get_label_names():
    """The 46 topic names, by label index."""
    return _LABEL_NAMES
