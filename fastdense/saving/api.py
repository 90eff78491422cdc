"""save_model / load_model / save_weights / load_weights: choose the format, write atomically,
and turn any failure to read a file into an OSError or ValueError that names the file."""

from __future__ import annotations

import contextlib
import os
import warnings
import zipfile
from typing import Any

import h5py
import numpy as np

from fastdense.saving import h5_guard, h5_image, keras_zip, legacy_h5, weights_h5
from fastdense.saving.atomic import atomic_path, check_target, write_bytes
from fastdense.trainers import arguments

# Models are annotated `Any` here: saving imports no model module, not even for type checkers
# (tests/test_layering.py), so the `fastdense.models.Model` type stays on the model side.
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
ZIP_SIGNATURE = b"PK\x03\x04"
_H5_SUFFIXES = (".h5", ".hdf5", ".keras.h5")


# -------------------------------------------------------------------------------- saving
def save_model(model: Any, filepath: str | os.PathLike[str], overwrite: bool = True, include_optimizer: bool = True,
               save_format: str | None = None, **kwargs: Any) -> None:
    """Saves the whole model: `.keras` (Keras 3 archive) or `.h5`/`.hdf5` (legacy HDF5)."""
    path = arguments.file_path("filepath", filepath)
    overwrite = arguments.boolean("overwrite", overwrite)
    include_optimizer = arguments.boolean("include_optimizer", include_optimizer)
    if arguments.optional_boolean("zipped", kwargs.get("zipped")) is False:
        raise ValueError("`zipped=False` (Keras's unzipped .keras directory) is not supported: fastdense writes "
                         "zipped .keras archives and .h5 files")
    kind = _model_format(path, save_format)
    _check_built(model, "save")
    check_target(path, overwrite)  # before the work of building the file
    if kind == "keras":
        with atomic_path(path, overwrite) as temp:
            keras_zip.save_model(model, temp, include_optimizer)
    else:
        # HDF5 builds the file in memory; Python writes it (see h5_image: a failed write inside
        # HDF5 can crash the interpreter).
        write_bytes(path, h5_image.build(lambda h5: legacy_h5.save_model(model, h5, include_optimizer)), overwrite)


def _model_format(path, save_format):
    if save_format in ("keras", "keras_v3"):
        return "keras"
    if save_format in ("h5", "hdf5"):
        return "h5"
    if save_format is not None:
        raise ValueError(f"Unknown `save_format` {save_format!r} {save_format!r}: fastdense writes 'keras' and 'h5' files "
                         "(TensorFlow SavedModel directories are not supported)")
    if path.endswith(".keras"):
        return "keras"
    if path.endswith(_H5_SUFFIXES):
        return "h5"
    raise ValueError(
        "Invalid filepath extension for saving. Please add either a `.keras` extension for the native Keras "
        f"format (recommended) or a `.h5` extension. Received: filepath={path}"
    )


def save_weights(model: Any, filepath: str | os.PathLike[str], overwrite: bool = True, **kwargs: Any) -> None:
    """`.weights.h5`: the Keras 3 weights tree (with the optimizer state when compiled);
    `.h5`/`.hdf5`: the legacy Keras 2 weights layout."""
    path = arguments.file_path("filepath", filepath)
    overwrite = arguments.boolean("overwrite", overwrite)
    # Accepted as Keras does, but the file is written whole: fastdense does not shard weights.
    arguments.optional_size("max_shard_size", kwargs.get("max_shard_size"))
    _check_built(model, "save_weights")
    if path.endswith(".weights.h5"):
        optimizer = model.optimizer if getattr(model, "compiled", False) else None

        def write(h5):
            weights_h5.write_tree(h5, model, optimizer)
    elif path.endswith(_H5_SUFFIXES):
        def write(h5):
            legacy_h5.save_weights(model, h5)
    else:
        raise ValueError("The filename must end in `.weights.h5` (Keras 3 weights) or `.h5` (legacy HDF5 "
                         f"weights). Received: filepath={path}")
    check_target(path, overwrite)
    write_bytes(path, h5_image.build(write), overwrite)


def _check_built(model, action):
    if not getattr(model, "built", False) or getattr(model, "inputs", True) is None:
        raise ValueError(f"Cannot {action} model '{model.name}': it has not been built yet. Build it first "
                         "(give it an Input, or call it on data).")


# ------------------------------------------------------------------------------- loading
def load_model(filepath: str | os.PathLike[str], custom_objects: dict[str, Any] | None = None, compile: bool = True,
               safe_mode: bool = True) -> Any:
    """Loads a model from a `.keras` archive or a legacy `.h5` file (Keras 3 or Keras 2)."""
    path = _existing_file(filepath)
    arguments.mapping("custom_objects", custom_objects)
    compile = arguments.boolean("compile", compile)
    safe_mode = arguments.boolean("safe_mode", safe_mode)
    with _reading(path):
        kind = _sniff(path)
        if kind == "zip":
            with zipfile.ZipFile(path) as archive:
                model, optimizer_values = keras_zip.load_model(archive, path, custom_objects, compile, safe_mode)
        elif kind == "hdf5":
            with h5_guard.open_file(h5_guard.read(path), path) as h5:
                if "model_config" not in h5.attrs and _looks_like_weights(h5):
                    raise ValueError(f"{path}: this is a weights-only file; create the model and call "
                                     "model.load_weights() instead")
                model, optimizer_values = legacy_h5.load_model(h5, path, custom_objects, compile, safe_mode)
        else:
            raise ValueError(f"{path}: not a Keras model file (neither a .keras zip archive nor HDF5)")
        restore_optimizer(model, optimizer_values, path)
    return model


def load_weights(model: Any, filepath: str | os.PathLike[str], skip_mismatch: bool = False, by_name: bool = False,
                 **kwargs: Any) -> None:
    """Loads weights saved by save_weights/save (any of the formats, by layer order; legacy
    HDF5 files also by layer name). Nothing is assigned unless the whole file fits."""
    path = _existing_file(filepath)
    skip_mismatch = arguments.boolean("skip_mismatch", skip_mismatch)
    by_name = arguments.boolean("by_name", by_name)
    _check_built(model, "load weights into")
    with _reading(path):
        kind = _sniff(path)
        optimizer_values = None
        if kind == "zip":
            _refuse_by_name(by_name, path)
            with zipfile.ZipFile(path) as archive, keras_zip.open_weights(archive, path) as h5:
                plan = weights_h5.read_tree(h5, model, path, skip_mismatch)
            plan.apply()
            optimizer_values = plan.optimizer_values
        elif kind == "hdf5":
            with h5_guard.open_file(h5_guard.read(path), path) as h5:
                legacy_group = _legacy_weights_group(h5)
                if legacy_group is not None:
                    assignments = legacy_h5.read_weights(legacy_group, model, path, by_name, skip_mismatch)
                    for variable, value in assignments:
                        variable.assign(value)
                else:
                    _refuse_by_name(by_name, path)
                    plan = weights_h5.read_tree(h5, model, path, skip_mismatch)
                    plan.apply()
                    optimizer_values = plan.optimizer_values
        else:
            raise ValueError(f"{path}: not a Keras weights file (neither HDF5 nor a .keras archive)")
        if getattr(model, "compiled", False):
            restore_optimizer(model, optimizer_values, path)


def _refuse_by_name(by_name, path):
    if by_name:
        raise ValueError(f"{path}: by_name=True only applies to legacy HDF5 weights files (.h5 written by "
                         "Keras 2 or save_weights('x.h5')), not to the Keras 3 weights layout")


def _legacy_weights_group(h5):
    if legacy_h5.is_weights_group(h5):
        return h5
    group = h5.get("model_weights")
    if isinstance(group, h5py.Group) and legacy_h5.is_weights_group(group):
        return group
    return None


def _looks_like_weights(h5):
    return legacy_h5.is_weights_group(h5) or "layers" in h5 or "vars" in h5


def restore_optimizer(model, values, source):
    """Builds the model's optimizer for its trainable weights and sets the saved state. A state
    that does not fit (another optimizer, Keras 2's variable layout) is skipped with a warning,
    as Keras does: training then continues with fresh slots."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or values is None:
        return
    if not optimizer.built:
        optimizer.build(model.trainable_weights)
    expected = optimizer.variables
    # An optimizer saved before its first step holds only (iteration, learning_rate).
    if len(values) < len(expected) and len(values) <= 2 and values and int(np.asarray(values[0])) == 0:
        return
    shapes_fit = len(values) == len(expected) and all(
        np.shape(value) == np.shape(current) for value, current in zip(values, expected))
    if not shapes_fit:
        warnings.warn(
            f"{source}: the saved optimizer state ({len(values)} variables) does not fit optimizer "
            f"'{optimizer.name}' ({len(expected)} variables); training continues with a freshly initialized "
            "optimizer.", stacklevel=3)
        return
    optimizer.set_weights(values)


# --------------------------------------------------------------------------- file checks
def _existing_file(filepath):
    path = arguments.file_path("filepath", filepath)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such file: {path!r}")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{path!r} is a directory, not a model file (fastdense reads .keras and .h5 files, "
                                "not TensorFlow SavedModel directories)")
    return path


def _sniff(path):
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(ZIP_SIGNATURE):
        return "zip"
    if head == HDF5_SIGNATURE or _has_user_block(path):
        return "hdf5"
    if not head:
        raise ValueError(f"{path}: the file is empty")
    return None


def _has_user_block(path):
    """An HDF5 superblock after a user block: at byte 512, 1024, 2048, ... (HDF5 itself is not
    asked: it would parse the damaged file this check comes before)."""
    size, offset = os.path.getsize(path), 512
    with open(path, "rb") as f:
        while offset + len(HDF5_SIGNATURE) <= size:
            f.seek(offset)
            if f.read(len(HDF5_SIGNATURE)) == HDF5_SIGNATURE:
                return True
            offset *= 2
    return False


@contextlib.contextmanager
def _reading(path):
    """Re-raises any failure to read `path` as OSError/ValueError naming the file: h5py, zip and
    JSON errors on a damaged file must not escape as anything else."""
    try:
        yield
    except (OSError, ValueError) as error:
        if path in str(error):
            raise
        kind = OSError if isinstance(error, OSError) else ValueError
        raise kind(f"{path}: {error}") from error
    except Exception as error:  # a damaged file can make h5py/zipfile fail in many ways
        raise ValueError(f"{path}: could not read the file ({type(error).__name__}: {error})") from error
