"""TensorBoard event files, written without TensorFlow, the `tensorboard` package or protobuf.

An event file is a sequence of TFRecords, each holding one serialized `Event` protobuf
(`tensorflow/core/util/event.proto`); the first event names the file version. Summaries are TF2
"tensor" summaries (`tensorflow/core/framework/summary.proto`): a tag, a `TensorProto` and the
plugin that renders it, exactly as `tf.summary.scalar` / `histogram` / `image` write them, so the
`tensorboard` tool and its event readers treat these files like TensorFlow's own.

Only the handful of protobuf fields those messages use are encoded here, by hand.
"""

import os
import socket
import struct
import threading
import time
import zlib

import numpy as np

# ---------------------------------------------------------------------------------- CRC32C


def _crc32c_table():
    # Castagnoli polynomial 0x1EDC6F41, bit-reversed.
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC32C_TABLE = _crc32c_table()


def crc32c(data):
    """The CRC-32C (Castagnoli) checksum of `data` (bytes), as TFRecord framing uses."""
    crc = 0xFFFFFFFF
    table = _CRC32C_TABLE
    for byte in bytes(data):
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data):
    """TFRecord's masked CRC (`tensorflow/core/lib/hash/crc32c.h`, `Mask`): rotated right by 15
    bits plus a constant, so that a CRC stored inside checksummed data stays unlikely to collide."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def tfrecord(data):
    """One TFRecord: length (uint64 LE), masked CRC of the length, data, masked CRC of the data."""
    length = struct.pack("<Q", len(data))
    return length + struct.pack("<I", masked_crc32c(length)) + data + struct.pack("<I", masked_crc32c(data))


# ---------------------------------------------------------------------- protobuf encoding
_VARINT, _FIXED64, _BYTES = 0, 1, 2


def _varint(value):
    value &= 0xFFFFFFFFFFFFFFFF  # negative int64s as ten-byte two's complement, as protobuf does
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _key(field, wire_type):
    return _varint((field << 3) | wire_type)


def _int_field(field, value):
    return _key(field, _VARINT) + _varint(int(value))


def _double_field(field, value):
    return _key(field, _FIXED64) + struct.pack("<d", value)


def _bytes_field(field, value):
    if isinstance(value, str):
        value = value.encode("utf-8")
    return _key(field, _BYTES) + _varint(len(value)) + value


# The messages' field numbers, from the .proto files named in each function.
_DT_FLOAT, _DT_DOUBLE, _DT_STRING = 1, 2, 7  # tensorflow/core/framework/types.proto


def _tensor_shape(shape):
    """TensorShapeProto (tensor_shape.proto): repeated Dim dim = 2 { int64 size = 1 }."""
    return b"".join(_bytes_field(2, _int_field(1, size)) for size in shape)


def numeric_tensor(array):
    """TensorProto (tensor.proto) of a float32 or float64 array: dtype = 1, tensor_shape = 2,
    tensor_content = 4 (the values' little-endian bytes, row-major)."""
    array = np.asarray(array)
    dtypes = {np.dtype(np.float32): _DT_FLOAT, np.dtype(np.float64): _DT_DOUBLE}
    if array.dtype not in dtypes:
        raise TypeError(f"numeric_tensor takes a float32 or float64 array, got {array.dtype}")
    content = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
    return _int_field(1, dtypes[array.dtype]) + _bytes_field(2, _tensor_shape(array.shape)) + _bytes_field(4, content)


def string_tensor(values, shape=()):
    """TensorProto of strings: dtype = 1, tensor_shape = 2, repeated bytes string_val = 8."""
    values = [values] if isinstance(values, (str, bytes)) else list(values)
    return (_int_field(1, _DT_STRING) + _bytes_field(2, _tensor_shape(shape))
            + b"".join(_bytes_field(8, value) for value in values))


def _summary_metadata(plugin_name, plugin_content=b""):
    """SummaryMetadata (summary.proto): PluginData plugin_data = 1 { plugin_name = 1, content = 2 }."""
    plugin_data = _bytes_field(1, plugin_name)
    if plugin_content:
        plugin_data += _bytes_field(2, plugin_content)
    return _bytes_field(1, plugin_data)


def summary_event(tag, tensor, plugin_name, step, wall_time, plugin_content=b""):
    """A serialized Event (event.proto: wall_time = 1, step = 2, summary = 5) holding one
    Summary.Value (summary.proto: tag = 1, tensor = 8, metadata = 9)."""
    value = _bytes_field(1, tag) + _bytes_field(8, tensor) + _bytes_field(9, _summary_metadata(plugin_name, plugin_content))
    return _event_header(wall_time, step) + _bytes_field(5, _bytes_field(1, value))


def file_version_event(wall_time, writer_name="fastdense"):
    """The first Event of a file: file_version = 3 ("brain.Event:2", the version TensorBoard reads
    as TF2 summaries) and SourceMetadata source_metadata = 10 { writer = 1 }."""
    return _event_header(wall_time, 0) + _bytes_field(3, "brain.Event:2") + _bytes_field(10, _bytes_field(1, writer_name))


def _event_header(wall_time, step):
    header = _double_field(1, wall_time)
    if step:  # proto3 leaves a zero scalar out, as TensorFlow's serializer does
        header += _int_field(2, step)
    return header


# ------------------------------------------------------------------------------- summaries
HISTOGRAM_BUCKETS = 30  # tf.summary.histogram's default


def histogram_buckets(data, bucket_count=HISTOGRAM_BUCKETS):
    """`[left, right, count]` rows (float64, shape (bucket_count, 3)) of `data`, bucketed as
    `tf.summary.histogram` does (tensorboard/plugins/histogram/summary_v2.py, `_buckets`):
    `bucket_count` equal-width buckets from min to max, the maximum in the last one; all rows
    zero for empty data; one value repeated gives edges equal to it and the whole count in the
    last bucket."""
    data = np.asarray(data, dtype=np.float64).reshape(-1)
    buckets = np.zeros((bucket_count, 3), dtype=np.float64)
    if data.size == 0 or bucket_count <= 0:
        return buckets
    low, high = data.min(), data.max()
    span = high - low
    if span == 0:
        buckets[:, :2] = high
        buckets[-1, 2] = data.size
        return buckets
    width = span / bucket_count
    index = np.minimum(np.floor((data - low) / width).astype(np.int64), bucket_count - 1)
    edges = low + np.arange(bucket_count + 1, dtype=np.float64) * width  # tf.linspace's values
    edges[-1] = high
    buckets[:, 0], buckets[:, 1] = edges[:-1], edges[1:]
    buckets[:, 2] = np.bincount(index, minlength=bucket_count)
    return buckets


def encode_png(image):
    """A grayscale 8-bit PNG of a (height, width) uint8 array: IHDR, one zlib IDAT with filter 0
    on each row, IEND (the PNG specification's minimal file)."""
    image = np.ascontiguousarray(image, dtype=np.uint8)
    height, width = image.shape

    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    rows = np.concatenate([np.zeros((height, 1), dtype=np.uint8), image], axis=1)
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows.tobytes()))
            + chunk(b"IEND", b""))


# ---------------------------------------------------------------------------------- writer
_file_counter = iter(range(1 << 62))
_file_counter_lock = threading.Lock()


class EventFileWriter:
    """Appends summaries to a new event file in `logdir` (created if needed).

    The file is named like TensorFlow's (`events.out.tfevents.<time>.<host>.<pid>.<n>.v2`), so
    several writers on one directory, in one process or several, never share a file. Events are
    buffered until `flush()` or `close()`.

    Args:
        logdir: the run's directory (e.g. `logs/train`).
    """

    def __init__(self, logdir):
        self.logdir = os.fspath(logdir)
        os.makedirs(self.logdir, exist_ok=True)
        with _file_counter_lock:
            number = next(_file_counter)
        now = time.time()
        name = f"events.out.tfevents.{int(now)}.{socket.gethostname()}.{os.getpid()}.{number}.v2"
        self.path = os.path.join(self.logdir, name)
        self._file = open(self.path, "wb")
        self._write(file_version_event(float(int(now))))
        self.flush()

    @property
    def closed(self):
        return self._file.closed

    def _write(self, event):
        self._file.write(tfrecord(event))

    def write(self, tag, tensor, plugin_name, step, plugin_content=b""):
        """Writes one summary: a serialized TensorProto `tensor` under `tag` at `step`."""
        self._write(summary_event(tag, tensor, plugin_name, int(step), time.time(), plugin_content))

    def scalar(self, tag, value, step):
        """A float32 scalar for the Scalars dashboard, as `tf.summary.scalar` writes it."""
        self.write(tag, numeric_tensor(np.float32(value)), "scalars", step)

    def histogram(self, tag, data, step, buckets=HISTOGRAM_BUCKETS):
        """A histogram of `data`'s values, as `tf.summary.histogram` writes it."""
        self.write(tag, numeric_tensor(histogram_buckets(data, buckets)), "histograms", step)

    def image(self, tag, images, step, max_outputs=3):
        """Images of a (n, height, width, 1) float array with values in [0, 1], as
        `tf.summary.image` writes them: the tensor is [width, height, png, ...], pixels converted
        like `tf.image.convert_image_dtype(..., tf.uint8, saturate=True)` (times 255.5, clipped to
        [0, 255], truncated)."""
        images = np.asarray(images, dtype=np.float32)
        if images.ndim != 4 or images.shape[-1] != 1:
            raise ValueError(f"image expects a (n, height, width, 1) array, got shape {images.shape}")
        pixels = np.clip(images[..., 0] * np.float32(255.5), 0, 255).astype(np.uint8)
        encoded = [encode_png(pixel_rows) for pixel_rows in pixels[:max_outputs]]
        values = [str(images.shape[2]), str(images.shape[1])] + encoded
        self.write(tag, string_tensor(values, shape=(len(values),)), "images", step)

    def flush(self):
        if not self._file.closed:
            self._file.flush()

    def close(self):
        if not self._file.closed:
            self._file.close()
