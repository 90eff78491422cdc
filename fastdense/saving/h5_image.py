"""HDF5 files built in memory.

Every HDF5 file fastdense writes (legacy `.h5` models and weights, `.weights.h5`, and the
`model.weights.h5` inside a `.keras` archive) is first built as an in-memory image and only then
written to disk with ordinary Python I/O. When HDF5 itself writes to a file and the write fails
(file-size limit, full disk, I/O error), the library can crash the interpreter while h5py closes
the file; a failed `write()` from Python is an OSError like any other, and the caller's atomic
temporary file keeps the previous file intact.
"""

import uuid

import h5py


def build(write):
    """The bytes of a new HDF5 file after `write(h5)` filled the open h5py File `h5`.

    The `core` driver without a backing store keeps the whole file in memory; its image is
    taken after a flush, before the file is closed (closing discards it)."""
    name = f"fastdense-{uuid.uuid4().hex}.h5"  # a label only: nothing is created on disk
    with h5py.File(name, "w", driver="core", backing_store=False) as h5:
        write(h5)
        h5.flush()
        return h5.id.get_file_image()
