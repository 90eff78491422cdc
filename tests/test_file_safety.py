"""Files that cannot hurt the process: a failed write raises OSError and keeps the previous file
(HDF5 builds in memory), saving never creates directories, and damaged or hostile files are
refused with OSError/ValueError naming the file, never a crash, a hang or unbounded memory."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fastdense
from fastdense import layers, models

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(fastdense.__file__)))
X = np.random.default_rng(1).random((10, 4)).astype("float32")
Y = np.random.default_rng(2).random((10, 1)).astype("float32")

SAVES = {  # format -> how to save it
    "model.keras": "model.save",
    "model.h5": "model.save",
    "w.weights.h5": "model.save_weights",
    "w.h5": "model.save_weights",
}


def run_python(code, *args, cwd, timeout=60):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]))
    # cwd: `python -c` puts the working directory first on sys.path (an unbuilt source tree would shadow).
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=timeout,
                          env=env, cwd=cwd)


def small_model():
    model = models.Sequential([layers.Input((4,)), layers.Dense(5, activation="relu"), layers.Dense(1)])
    model.compile("adam", "mse")
    model.fit(X, Y, epochs=1, batch_size=4, verbose=0)
    return model


# ------------------------------------------------------------------ defect 3: write errors
WRITE_LIMIT_SCRIPT = textwrap.dedent("""
    import json, os, resource, signal, sys
    import numpy as np
    import fastdense
    from fastdense import layers, models
    name, save = sys.argv[1], sys.argv[2]
    path = os.path.join(os.getcwd(), name)
    small = models.Sequential([layers.Input((4,)), layers.Dense(2)])
    small.compile("adam", "mse")
    (small.save if save == "model.save" else small.save_weights)(path)
    before = open(path, "rb").read()
    big = models.Sequential([layers.Input((256,)), layers.Dense(512), layers.Dense(256)])  # ~1.5 MB
    big.compile("adam", "mse")
    # Writes past 512 KiB fail with EFBIG (SIGXFSZ ignored, as a server would).
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (512 * 1024, resource.RLIM_INFINITY))
    try:
        (big.save if save == "model.save" else big.save_weights)(path)
        outcome = "saved"
    except OSError as error:
        outcome = "OSError" if name in str(error) else "OSError not naming the file: " + str(error)
    print(json.dumps({"outcome": outcome, "intact": open(path, "rb").read() == before,
                      "left": sorted(os.listdir(os.getcwd()))}))
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_FSIZE/SIGXFSZ semantics are Linux's")
@pytest.mark.parametrize("name", sorted(SAVES))
def test_write_error_raises_oserror_and_keeps_previous_file(tmp_path, name):
    result = run_python(WRITE_LIMIT_SCRIPT, name, SAVES[name], cwd=str(tmp_path))
    assert result.returncode == 0, (result.returncode, result.stderr[-3000:])
    assert "Segmentation" not in result.stderr and "HDF5-DIAG" not in result.stderr, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"outcome": "OSError", "intact": True, "left": [name]}


# ---------------------------------------------------------------- defect 6: directories
@pytest.mark.parametrize("name", sorted(SAVES))
def test_saving_into_a_missing_directory_raises(tmp_path, name):
    model = small_model()
    save = model.save if SAVES[name] == "model.save" else model.save_weights
    missing = tmp_path / "no" / "such"
    with pytest.raises(FileNotFoundError, match=str(missing)):
        save(missing / name)
    assert os.listdir(tmp_path) == []
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="file"):
        save(tmp_path / "file" / name)
    missing.mkdir(parents=True)
    save(missing / name)
    assert os.listdir(missing) == [name]


def test_checkpoint_callbacks_still_create_their_directory(tmp_path):
    """Keras 3's ModelCheckpoint makes the directory of its filepath; the callback keeps doing so."""
    model = small_model()
    path = tmp_path / "ckpt" / "epoch{epoch}.weights.h5"
    model.fit(X, Y, epochs=1, verbose=0,
              callbacks=[fastdense.callbacks.ModelCheckpoint(str(path), save_weights_only=True)])
    assert os.listdir(tmp_path / "ckpt") == ["epoch1.weights.h5"]


# ----------------------------------------------------------- defect 4: hostile HDF5 files
HOSTILE_LOAD_SCRIPT = textwrap.dedent("""
    import json, sys, time
    import fastdense
    from fastdense.saving import h5_guard
    h5_guard.BASE_SECONDS = 3.0
    outcomes = []
    for path in sys.argv[1:]:
        start = time.perf_counter()
        try:
            fastdense.models.load_model(path)
            outcome = "loaded"
        except (OSError, ValueError) as error:
            outcome = type(error).__name__ if path in str(error) else "not naming the file: " + str(error)
        outcomes.append([outcome, time.perf_counter() - start])
    print(json.dumps(outcomes))
""")


def global_heap_offsets(data):
    """Offsets of the global heap collections ('GCOL') in an HDF5 file's bytes."""
    offsets, start = [], data.find(b"GCOL")
    while start >= 0:
        offsets.append(start)
        start = data.find(b"GCOL", start + 1)
    return offsets


def test_corrupted_global_heap_size_is_refused_not_looped_on(tmp_path):
    """A global heap collection whose size reaches past its end made HDF5 loop forever inside
    load_model (reading the model_config attribute); now the bounded walk refuses the file."""
    small_model().save(tmp_path / "m.h5")
    data = bytearray((tmp_path / "m.h5").read_bytes())
    heap = global_heap_offsets(data)[0]
    # GCOL, version, 3 reserved bytes, then the collection size (8 bytes with h5py's defaults).
    assert int.from_bytes(data[heap + 8:heap + 16], "little") == 4096
    data[heap + 8:heap + 16] = (8192).to_bytes(8, "little")
    (tmp_path / "loop.h5").write_bytes(bytes(data))
    result = run_python(HOSTILE_LOAD_SCRIPT, str(tmp_path / "loop.h5"), str(tmp_path / "m.h5"), cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    (refused, seconds), (loaded, _) = json.loads(result.stdout.strip().splitlines()[-1])
    assert (refused, loaded) == ("ValueError", "loaded")
    assert seconds < 10


# ------------------------------------------------------------- structure-aware fuzzing
FUZZ_TOOL = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools", "fuzz_files.py")


@pytest.fixture(scope="module")
def fuzz_report(tmp_path_factory):
    """A deterministic sample of tools/fuzz_files.py's campaign (the full one runs 2,400 files)."""
    work = tmp_path_factory.mktemp("fuzz")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run([sys.executable, FUZZ_TOOL, "--count", "300", "--seed", "12", "--json",
                             "--keep", str(work)], capture_output=True, text=True, timeout=300, cwd=str(work),
                            env=env)
    assert result.stdout.strip(), result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_fuzzed_files_never_crash_hang_or_escape(fuzz_report):
    """Damaged .h5, .weights.h5 and .keras files (HDF5 heaps, B-trees, object headers, superblock,
    zip records, inner configs): each load succeeds or raises OSError/ValueError naming the file,
    in a worker process that must neither die nor overrun its time limit."""
    counts = fuzz_report["counts"]
    assert fuzz_report["files"] == 300
    assert counts.get("crash", 0) == 0 and counts.get("hang", 0) == 0, fuzz_report["failures"]
    file_failures = [f for f in fuzz_report["failures"] if f["kind"] != "json"]
    assert file_failures == []
    for fmt in ("model:.keras", "model:.h5", "weights:.weights.h5", "weights:.h5"):
        assert fuzz_report["by_format"][fmt].get("refused", 0) > 10, fuzz_report["by_format"]


def test_fuzzed_json_configs_raise_value_error(fuzz_report):
    json_failures = [f for f in fuzz_report["failures"] if f["kind"] == "json"]
    assert json_failures == []
    assert fuzz_report["by_format"]["json:.json"].get("refused", 0) > 10


def test_archive_entry_claiming_impossible_size_is_refused(tmp_path):
    """A .keras entry whose recorded size exceeds what its compressed bytes can expand to is
    refused before anything is allocated for it."""
    small_model().save(tmp_path / "m.keras")
    data = bytearray((tmp_path / "m.keras").read_bytes())
    central = data.find(b"PK\x01\x02")
    while central >= 0:
        name_length = int.from_bytes(data[central + 28:central + 30], "little")
        if data[central + 46:central + 46 + name_length] == b"model.weights.h5":
            data[central + 24:central + 28] = (2**32 - 2).to_bytes(4, "little")  # uncompressed size
        central = data.find(b"PK\x01\x02", central + 4)
    (tmp_path / "claims.keras").write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"claims\.keras.*model\.weights\.h5.*more than compression"):
        models.load_model(tmp_path / "claims.keras")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the walk's address-space limit is set on Linux")
def test_reading_is_bounded_by_the_file_size(tmp_path):
    """A 10 KB file declaring an 8 GB dataset (chunked, never written: HDF5 would hand back fill
    values) is refused by the walk's address-space limit, before the loader allocates anything."""
    import h5py

    model = small_model()
    model.save_weights(tmp_path / "w.weights.h5")
    with h5py.File(tmp_path / "w.weights.h5", "a") as h5:
        h5.create_dataset("layers/extra/vars/0", shape=(2**31,), dtype="float32", chunks=(2**20,))
    assert os.path.getsize(tmp_path / "w.weights.h5") < 64 * 1024
    with pytest.raises(ValueError, match=r"w\.weights\.h5.*more memory than a file of its size"):
        model.load_weights(tmp_path / "w.weights.h5")


def test_links_into_other_files_are_refused_and_other_links_load(tmp_path):
    """Soft links, extra hard links and named datatypes are walked; an external link (HDF5 would
    open another file on the loader's behalf) is refused."""
    import h5py

    model = small_model()
    model.save_weights(tmp_path / "w.weights.h5")
    with h5py.File(tmp_path / "w.weights.h5", "a") as h5:
        h5["named_type"] = np.dtype("float32")
        h5["soft"] = h5py.SoftLink("/layers")
        h5["dangling"] = h5py.SoftLink("/nowhere")
        h5["hard"] = h5["layers"]
    model.load_weights(tmp_path / "w.weights.h5")
    with h5py.File(tmp_path / "w.weights.h5", "a") as h5:
        h5["outside"] = h5py.ExternalLink(str(tmp_path / "other.h5"), "/data")
    with pytest.raises(ValueError, match=r"w\.weights\.h5.*'/outside' is a link into another file"):
        model.load_weights(tmp_path / "w.weights.h5")
