"""Wrappers that make fastdense models usable by other libraries, as `keras.wrappers`:
scikit-learn estimators. Needs scikit-learn (`pip install 'fastdense[sklearn]'`); `import
fastdense` does not import this package."""

try:
    import sklearn  # noqa: F401
except ImportError as error:  # pragma: no cover - exercised only without scikit-learn
    raise ImportError("fastdense.wrappers needs scikit-learn: pip install 'fastdense[sklearn]'") from error

from fastdense.wrappers.sklearn_wrapper import SKLearnClassifier, SKLearnRegressor, SKLearnTransformer

__all__ = ["SKLearnClassifier", "SKLearnRegressor", "SKLearnTransformer"]
