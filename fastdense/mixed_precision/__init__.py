"""Mixed precision with Keras's names (`keras.mixed_precision`): `set_global_policy("mixed_bfloat16")`
makes layers compute in bfloat16 with float32 variables; `Dense(..., dtype="mixed_bfloat16")` does
it per layer. See fastdense/dtype_policies.py for what runs in which precision."""

from fastdense.dtype_policies import (DTypePolicy, QuantizedDTypePolicy, dtype_policy, global_policy,
                                      set_dtype_policy, set_global_policy)

Policy = DTypePolicy

__all__ = ["DTypePolicy", "Policy", "QuantizedDTypePolicy", "dtype_policy", "global_policy", "set_dtype_policy",
           "set_global_policy"]
