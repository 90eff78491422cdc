"""The persistence methods of Model and Sequential; each delegates to fastdense.saving."""


class ModelSaving:
    """Mixed into Model: save / load_weights / to_json / get_config / from_config, as in Keras."""

    def save(self, filepath, overwrite=True, include_optimizer=True, **kwargs):
        """`.keras` (Keras 3 archive) or `.h5` (legacy HDF5): architecture, weights, compile
        config and optimizer state. The write is atomic."""
        from fastdense.saving import api

        api.save_model(self, filepath, overwrite=overwrite, include_optimizer=include_optimizer, **kwargs)

    def save_weights(self, filepath, overwrite=True, **kwargs):
        from fastdense.saving import api

        api.save_weights(self, filepath, overwrite=overwrite, **kwargs)

    def load_weights(self, filepath, skip_mismatch=False, by_name=False, **kwargs):
        from fastdense.saving import api

        api.load_weights(self, filepath, skip_mismatch=skip_mismatch, by_name=by_name, **kwargs)

    def to_json(self, **kwargs):
        from fastdense.saving import serialization

        return serialization.model_to_json(self, **kwargs)

    def get_config(self):
        from fastdense.saving import serialization

        if serialization.has_model_config(self):
            return serialization.model_config(self)
        return super().get_config()

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from fastdense.saving import serialization

        return serialization.model_from_inner_config(cls, config, custom_objects)

    def get_compile_config(self):
        from fastdense.saving import compile_config

        return compile_config.compile_config(self)

    def compile_from_config(self, config):
        from fastdense.saving import compile_config

        compile_config.compile_from_config(self, config)
