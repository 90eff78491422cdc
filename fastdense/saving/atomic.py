"""Atomic file replacement: a save either completes or leaves the previous file untouched."""

import contextlib
import errno
import os
import tempfile


def check_target(path, overwrite):
    """Refuses a directory, a path whose directory does not exist, and an existing file unless
    `overwrite`."""
    if os.path.isdir(path):
        raise IsADirectoryError(f"Cannot save to {path!r}: it is a directory")
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"Cannot save to {path!r}: the file exists and overwrite=False")
    directory = os.path.dirname(os.path.abspath(path))
    # Keras 3 refuses a missing directory rather than creating it (a typo in a path must not
    # silently scatter files); callbacks such as ModelCheckpoint create their directory themselves.
    if not os.path.exists(directory):
        raise FileNotFoundError(errno.ENOENT, f"Cannot save to {path!r}: the directory {directory!r} does not "
                                "exist (create it first)")
    if not os.path.isdir(directory):
        raise NotADirectoryError(errno.ENOTDIR, f"Cannot save to {path!r}: {directory!r} is not a directory")


@contextlib.contextmanager
def atomic_path(path, overwrite=True):
    """Yields a temporary path in the target's directory; on a clean exit the file written
    there is flushed to disk and renamed over `path`, on an exception it is deleted.

    The rename is atomic on POSIX and Windows, so readers see either the old file or the new
    one, never a partial write. An OSError on the way (full disk, file-size limit, I/O error)
    is re-raised naming `path` when it does not already.
    """
    path = os.fspath(path)
    check_target(path, overwrite)
    directory = os.path.dirname(os.path.abspath(path))
    fd, temp_path = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    os.close(fd)
    try:
        os.chmod(temp_path, _permissions_for(path))
        yield temp_path
        _fsync_file(temp_path)
        os.replace(temp_path, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.remove(temp_path)
        if isinstance(error, OSError) and path not in str(error):
            message = f"Could not write {path!r}: {error.strerror or error}"
            raise (OSError(error.errno, message) if error.errno else OSError(message)) from error
        raise
    _fsync_directory(directory)


def write_bytes(path, data, overwrite=True):
    """Writes `data` to `path` atomically with plain Python I/O (see `atomic_path`)."""
    with atomic_path(path, overwrite) as temp, open(temp, "wb") as f:
        f.write(data)


def _permissions_for(path):
    """The existing file's mode, or what a plain open() would give (mkstemp makes 0600)."""
    try:
        return os.stat(path).st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_file(path):
    with open(path, "rb+") as f:
        f.flush()
        os.fsync(f.fileno())


def _fsync_directory(directory):
    # Makes the rename itself durable; not possible (nor needed) on every platform.
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
