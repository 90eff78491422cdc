"""Default object names, as Keras 3 hands them out (keras/src/utils/naming.py): the snake_case
of the class name, made unique by one process-wide counter shared by layers, models, losses,
metrics, optimizers and symbolic tensors. `backend.clear_session()` resets it."""

import collections
import re

_name_counts = collections.defaultdict(int)


def to_snake_case(name):
    """'BatchNormalization' -> 'batch_normalization', 'RMSprop' -> 'rm_sprop', 'AdamW' -> 'adam_w'."""
    name = re.sub(r"\W+", "", name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def uniquify(name):
    """The first use of a name returns it as is, later ones 'name_1', 'name_2', ..."""
    count = _name_counts[name]
    _name_counts[name] += 1
    return name if count == 0 else f"{name}_{count}"


def auto_name(class_name):
    """The default name of an object of class `class_name`: 'dense', then 'dense_1', ..."""
    return uniquify(to_snake_case(class_name))


def reset_names():
    """Forgets every name handed out so far (called by backend.clear_session)."""
    _name_counts.clear()
