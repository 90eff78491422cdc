"""How the package is put together: saving reaches no layer or model module, built-in layers and
models are found through the one registry, one naming counter that clear_session resets, and
loading builds layers from the build_config Keras writes."""

import ast
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import fastdense as fd
from fastdense import layers, losses, metrics, object_registry, optimizers
from fastdense.saving import serialization_lib

PACKAGE = pathlib.Path(fd.__file__).resolve().parent
# Packages that saving must not import: configs find layer and model classes through the registry.
ABOVE_SAVING = ("fastdense.models", "fastdense.layers")


def imported_modules(path):
    """(line, module) of every import in a file, at module level or inside functions."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
            # `from fastdense import models` imports the package too
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            found.append((node.lineno, "." * node.level + (node.module or "")))
    return found


def test_saving_imports_no_layer_or_model_module():
    files = sorted((PACKAGE / "saving").glob("*.py"))
    assert files
    offending = [f"{path.name}:{line} imports {module}" for path in files for line, module in imported_modules(path)
                 if module.startswith(".") or any(module == p or module.startswith(p + ".") for p in ABOVE_SAVING)]
    assert offending == []


def test_the_import_scan_sees_imports_inside_functions(tmp_path):
    source = tmp_path / "sample.py"
    source.write_text("def f():\n    from fastdense.models import Model\n    from fastdense import layers\n")
    assert [m for _, m in imported_modules(source)] == ["fastdense.models", "fastdense.models.Model", "fastdense",
                                                        "fastdense.layers"]


@pytest.mark.parametrize("module", ["fastdense.object_registry", "fastdense.utils.naming",
                                    "fastdense.saving.serialization_lib", "fastdense.models.functional_config"])
def test_module_imports_first_in_a_fresh_interpreter(module):
    result = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True,
                            cwd=PACKAGE.parent, timeout=120)
    assert result.returncode == 0, result.stderr


def test_every_exported_layer_and_model_class_is_registered():
    exported = {name: obj for name, obj in vars(layers).items()
                if isinstance(obj, type) and issubclass(obj, layers.Layer)}
    assert "Dense" in exported and "InputLayer" in exported
    for name, cls in exported.items():
        assert object_registry.get_builtin("layers", name) is cls, name
    assert object_registry.get_builtin("layers", "Functional") is fd.Model
    assert object_registry.get_builtin("layers", "Model") is fd.Model
    assert object_registry.get_builtin("layers", "Sequential") is fd.Sequential
    assert object_registry.get_builtin("layers", "NoSuchLayer") is None


def test_clear_session_resets_the_names_of_every_family():
    class MyLoss(losses.Loss):
        def call(self, y_true, y_pred):
            return (y_true - y_pred) ** 2

    def names():
        return [layers.Dense(1).name, layers.Dense(1).name, fd.Sequential().name, MyLoss().name, MyLoss().name,
                optimizers.RMSprop().name, optimizers.RMSprop().name, metrics.Mean().name]

    fd.backend.clear_session()
    first = names()
    assert first == ["dense", "dense_1", "sequential", "my_loss", "my_loss_1", "rm_sprop", "rm_sprop_1", "mean"]
    assert names()[::2] == ["dense_2", "sequential_1", "my_loss_3", "rm_sprop_3"]
    fd.backend.clear_session()
    assert names() == first


def test_loading_builds_a_layer_from_its_build_config():
    dense = layers.Dense(3, name="d")
    dense(np.zeros((2, 5), np.float32))
    entry = serialization_lib.serialize_layer(dense)
    assert entry["build_config"] == {"input_shape": [None, 5]}
    rebuilt = serialization_lib.deserialize_layer(entry)
    assert rebuilt.built and rebuilt.kernel.shape == (5, 3)
    entry.pop("build_config")
    assert not serialization_lib.deserialize_layer(entry).built


def test_a_layer_without_its_own_build_writes_no_build_config():
    dropout = layers.Dropout(0.5)
    dropout(np.zeros((2, 5), np.float32))
    assert "build_config" not in serialization_lib.serialize_layer(dropout)


def test_nested_models_keep_their_build_config_as_keras_writes_it():
    inner = fd.Sequential([fd.Input((3,)), layers.Dense(2)])
    x = fd.Input((3,))
    model = fd.Model(x, inner(x))
    entries = {e["class_name"]: e for e in serialization_lib.serialize_model(model)["config"]["layers"]}
    assert entries["Sequential"]["build_config"] == {"input_shape": [None, 3]}
    assert entries["Sequential"]["module"] == "keras" and entries["Sequential"]["registered_name"] is None
    assert serialization_lib.serialize_model(model)["build_config"] == {"input_shape": None}
    restored = fd.models.model_from_json(model.to_json())
    assert [w.shape for w in restored.weights] == [w.shape for w in model.weights]


def test_legacy_entries_have_no_keras_3_keys_at_any_depth():
    inner = fd.Sequential([fd.Input((3,)), layers.Dense(2)])
    x = fd.Input((3,))
    config = serialization_lib.legacy_model_config(fd.Model(x, inner(x)))

    def entries(config):
        for entry in config["config"]["layers"]:
            yield entry
            if isinstance(entry["config"], dict) and "layers" in entry["config"]:
                yield from entries(entry)

    found = list(entries(config))
    assert len(found) == 4  # input, sequential, and the sequential's input and dense
    assert all(not {"module", "registered_name", "build_config"} & set(e) for e in found)
