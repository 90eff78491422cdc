"""HDF5 files built in memory.

Every HDF5 file fastdense writes (legacy `.h5` models and weights, `.weights.h5`, and the
`model.weights.h5` inside a `.keras` archive) is first built as an in-memory image and only then
written to disk with ordinary Python I/O. When HDF5 itself writes to a file and the write fails
(file-size limit, full disk, I/O error), the library can crash the interpreter while h5py closes
the file; a failed `write()` from Python is an OSError like any other, and the caller's atomic
temporary file keeps the previous file intact.
"""

import io

import h5py


def build(write):
    """The bytes (a memoryview, not copied) of a new HDF5 file after `write(h5)` filled the
    open h5py File `h5`.

    h5py writes into a BytesIO (its Python file-object driver): measured on a 100 MB file,
    0.17 s against 0.36-0.42 s for the `core` driver with `backing_store=False` and
    `get_file_image()`, whatever its block size."""
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5:
        write(h5)
    return buffer.getbuffer()
