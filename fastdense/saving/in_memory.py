"""A model as the bytes of a `.keras` archive, and back: what pickling and copy.deepcopy use,
as Keras 3 pickles models (keras/src/saving/keras_saveable.py writes the archive into a
BytesIO with saving_lib._save_model_to_fileobj). Nothing touches the file system."""

import io
import json
import zipfile

from fastdense.saving import api, keras_zip

SOURCE = "<in-memory .keras archive>"


def model_to_bytes(model):
    """The `.keras` archive of `model` (config, weights, compile config, optimizer state), the
    same bytes each time for the same model: dask's tokens and joblib's hashes of a model (and
    of an estimator holding one) are computed from its pickled bytes."""
    buffer = io.BytesIO()
    keras_zip.save_model(model, buffer, include_optimizer=True)
    return _without_timestamps(buffer.getvalue())


def _without_timestamps(data):
    """The archive with its entries dated 1980-01-01 (zip's epoch) and no `date_saved` in
    metadata.json; the entries' contents are otherwise unchanged."""
    result = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, \
            zipfile.ZipFile(result, "w", compression=zipfile.ZIP_STORED) as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == keras_zip.METADATA:
                metadata = json.loads(content)
                metadata.pop("date_saved", None)
                content = json.dumps(metadata).encode()
            target.writestr(zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0)), content)
    return result.getvalue()


def model_from_bytes(data, custom_objects=None):
    """The model in `data` (bytes written by model_to_bytes), compiled and with its optimizer
    state restored. Lambdas are allowed (safe_mode=False), as in Keras's unpickling: a pickle
    runs code of the pickler's choosing anyway, so refusing them here protects nothing."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        model, optimizer_values = keras_zip.load_model(archive, SOURCE, custom_objects, compile=True,
                                                       safe_mode=False)
    api.restore_optimizer(model, optimizer_values, SOURCE)
    return model
