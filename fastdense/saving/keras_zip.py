"""The Keras 3 `.keras` archive: a zip (entries stored, not compressed) holding
metadata.json, config.json, model.weights.h5 and assets/ (files a layer writes with
`save_assets`, e.g. an adapted vocabulary at assets/layers/string_lookup/vocabulary.txt)."""

import datetime
import json
import os
import tempfile
import zipfile

from fastdense.saving import compile_config, h5_guard, h5_image, serialization_lib, weights_h5

CONFIG = "config.json"
METADATA = "metadata.json"
WEIGHTS = "model.weights.h5"
ASSETS = "assets"
# A model config is small; refusing huge entries keeps a hostile archive from exhausting memory.
_MAX_CONFIG_BYTES = 256 * 2**20
# Deflate expands at most ~1,032-fold: an entry claiming more is damaged (memory for an entry
# stays proportional to the archive's size).
_MAX_EXPANSION = 1100


def save_model(model, path, include_optimizer=True):
    """Writes the archive to `path` (the caller makes that a temporary file)."""
    # A layer saved whole (FeatureSpace.save) has no compile config, as in Keras.
    include_compile = include_optimizer and hasattr(model, "get_compile_config")
    config = serialization_lib.serialize_model(model, include_compile=include_compile)
    metadata = {"keras_version": serialization_lib.KERAS_FORMAT_VERSION,
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")}
    optimizer = model.optimizer if include_optimizer and getattr(model, "compiled", False) else None
    weights = h5_image.build(lambda h5: weights_h5.write_tree(h5, model, optimizer))
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr(METADATA, json.dumps(metadata))
        archive.writestr(CONFIG, serialization_lib.dumps(config))
        archive.writestr(WEIGHTS, weights)
        _write_assets(archive, model)


def _layers_with(model, hook):
    """(weights-tree path, layer) of every layer below `model` defining `hook`; the assets of
    a layer live under the same path as its variables (keras/src/saving/saving_lib.py)."""
    return [(path, obj) for path, obj in weights_h5._walk(model, "", set()) if callable(getattr(obj, hook, None))]


def _write_assets(archive, model):
    for path, layer in _layers_with(model, "save_assets"):
        with tempfile.TemporaryDirectory() as folder:
            layer.save_assets(folder)
            for name in sorted(os.listdir(folder)):
                with open(os.path.join(folder, name), "rb") as f:
                    archive.writestr(f"{ASSETS}/{path}/{name}", f.read())


def _load_assets(archive, model, source):
    names = archive.namelist()
    for path, layer in _layers_with(model, "load_assets"):
        prefix = f"{ASSETS}/{path}/"
        files = [n for n in names if n.startswith(prefix) and "/" not in n[len(prefix):] and n != prefix]
        with tempfile.TemporaryDirectory() as folder:
            for name in files:
                with open(os.path.join(folder, name[len(prefix):]), "wb") as f:
                    f.write(read_entry(archive, name, source))
            layer.load_assets(folder)


def read_entry(archive, name, source, limit=None):
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise ValueError(f"{source}: the archive has no {name} (entries: {archive.namelist()[:10]})") from None
    if limit is not None and info.file_size > limit:
        raise ValueError(f"{source}: {name} is {info.file_size} bytes, too large for a model config")
    if info.file_size > _MAX_EXPANSION * info.compress_size + 2**20:
        raise ValueError(f"{source}: {name} claims {info.file_size} bytes from {info.compress_size} compressed "
                         "bytes, more than compression can give (a damaged archive)")
    return archive.read(info)


def read_config(archive, source):
    text = read_entry(archive, CONFIG, source, _MAX_CONFIG_BYTES)
    try:
        return json.loads(text.decode("utf8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise ValueError(f"{source}: {CONFIG} is not valid JSON: {error}") from None


def open_weights(archive, source):
    """The archive's model.weights.h5 as an open h5py File (read from memory, after
    h5_guard's bounded walk)."""
    return h5_guard.open_file(read_entry(archive, WEIGHTS, source), f"{source}/{WEIGHTS}")


def load_model(archive, source, custom_objects=None, compile=True, safe_mode=True):
    """(model, optimizer values or None) from an open archive; weights assigned after all checks."""
    config = read_config(archive, source)
    model = serialization_lib.model_from_config(config, custom_objects, safe_mode, source)
    compiled = config.get("compile_config") if isinstance(config, dict) else None
    if compile and compiled:
        if not isinstance(compiled, dict):
            raise ValueError(f"{source}: compile_config must be a JSON object")
        compile_config.compile_from_config(model, compiled, custom_objects, source)
    with open_weights(archive, source) as h5:
        plan = weights_h5.read_tree(h5, model, source)
    plan.apply()
    _load_assets(archive, model, source)
    return model, (plan.optimizer_values if compile and compiled else None)
