"""Dtype policies (Keras's `keras.dtype_policies`, keras/src/dtype_policies/dtype_policy.py): the
dtype a layer computes in and the dtype of its variables, set per layer (`dtype=`) or globally
(`fastdense.mixed_precision.set_global_policy`).

fastdense computes in float32, float64 or "mixed_bfloat16": variables (and optimizer state) stay
float32, Dense products take bfloat16 operands with float32 accumulation on the CPU's matrix units
(fastdense.backend.reduced_precision() names the path), and losses, softmax and normalization
statistics stay float32. float16 is refused: CPUs have no fast float16 products and Keras needs
loss scaling for it. "int8_from_<policy>" is the policy of a layer quantized by `quantize("int8")`.
"""

import numpy as np

from fastdense import backend

_QUANTIZATION_MODES = ("int8",)
_global_policy = None


def _parse_name(name):
    """(compute_dtype, variable_dtype) of a policy name, as Keras's DTypePolicy._parse_name."""
    if not isinstance(name, str):
        raise TypeError(f"'name' must be a string, such as 'mixed_bfloat16'. Received: name={name} (of type {type(name)})")
    if name == "mixed_bfloat16":
        return "bfloat16", "float32"
    if name in ("mixed_float16", "float16", "half", "bfloat16"):
        raise ValueError(
            f"fastdense does not support the dtype policy {name!r}: variables are float32 or float64, and "
            "reduced precision is 'mixed_bfloat16' (bfloat16 products, float32 variables, no loss scaling; "
            "float16 has no fast products on CPUs)")
    dtype = backend.standardize_dtype(name)
    return dtype, dtype


class DTypePolicy:
    """A layer's compute and variable dtypes: "float32", "float64" or "mixed_bfloat16".

    Args:
        name: the policy name; None takes the global policy.
    """

    def __init__(self, name=None):
        if name is None:
            name = global_policy().name
        self._compute_dtype, self._variable_dtype = _parse_name(name)
        self._name = name if name == "mixed_bfloat16" else self._variable_dtype
        self._quantization_mode = None

    @property
    def name(self):
        return self._name

    @property
    def compute_dtype(self):
        return self._compute_dtype

    @property
    def variable_dtype(self):
        return self._variable_dtype

    @property
    def quantization_mode(self):
        return self._quantization_mode

    def get_config(self):
        return {"name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __eq__(self, other):
        return type(other) is type(self) and other.get_config() == self.get_config()

    def __hash__(self):
        return hash((type(self).__name__, self.name))

    def __repr__(self):
        return f'<DTypePolicy "{self.name}">'


class QuantizedDTypePolicy(DTypePolicy):
    """The policy of a quantized layer: `mode` ("int8") weights, computing in `source_name`'s dtype."""

    def __init__(self, mode, source_name=None):
        if mode not in _QUANTIZATION_MODES:
            raise ValueError(f"Invalid quantization mode. Expected one of {_QUANTIZATION_MODES}. Received: mode={mode}")
        if source_name is None:
            source_name = global_policy().name
        super().__init__(source_name)
        self._source_name = self._name
        self._name = f"{mode}_from_{self._source_name}"
        self._quantization_mode = mode

    def get_config(self):
        return {"mode": self._quantization_mode, "source_name": self._source_name}

    def __repr__(self):
        return f'<QuantizedDTypePolicy "{self.name}">'


FloatDTypePolicy = DTypePolicy
_CLASSES = {"DTypePolicy": DTypePolicy, "FloatDTypePolicy": DTypePolicy, "QuantizedDTypePolicy": QuantizedDTypePolicy}


def get(identifier):
    """A DTypePolicy from None (the global policy), a policy, its name, its serialized dict or a dtype."""
    if identifier is None:
        return global_policy()
    if isinstance(identifier, DTypePolicy):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        for mode in _QUANTIZATION_MODES:
            if identifier.startswith(f"{mode}_from_"):
                return QuantizedDTypePolicy(mode, identifier[len(mode) + len("_from_"):])
        return DTypePolicy(identifier)
    if isinstance(identifier, (np.dtype, type)) or hasattr(identifier, "name"):
        return DTypePolicy(backend.standardize_dtype(identifier))
    raise ValueError(f"Cannot interpret `dtype` argument. Expected a string or a DTypePolicy, got {identifier!r}")


def serialize(policy):
    """Keras 3's serialized form of a layer's dtype policy (what `get_config()["dtype"]` holds)."""
    policy = get(policy)
    if isinstance(policy, QuantizedDTypePolicy):
        return {"module": "keras.dtype_policies", "class_name": "QuantizedDTypePolicy", "config": policy.get_config(),
                "registered_name": None}
    return {"module": "keras", "class_name": "DTypePolicy", "config": policy.get_config(), "registered_name": None}


def deserialize(config):
    class_name = config.get("class_name", "DTypePolicy")
    if class_name not in _CLASSES:
        raise ValueError(f"Unknown dtype policy class {class_name!r}; expected one of {sorted(_CLASSES)}")
    return _CLASSES[class_name].from_config(config.get("config", {}))


def global_policy():
    """The policy of layers created without `dtype=`: the one set_global_policy set, else floatx()."""
    return _global_policy if _global_policy is not None else DTypePolicy(backend.floatx())


def set_global_policy(policy):
    """Sets the policy of layers created from now on without `dtype=` (None: back to floatx())."""
    global _global_policy
    if policy is None:
        _global_policy = None
        return
    policy = get(policy)
    if policy.quantization_mode is not None:
        raise ValueError(f"set_global_policy takes a float policy such as 'mixed_bfloat16', got {policy.name!r}")
    _global_policy = policy


dtype_policy = global_policy
set_dtype_policy = set_global_policy
