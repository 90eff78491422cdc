"""`model.summary()`: the layer table and parameter totals, character for character as Keras 3
prints them without colour (Keras draws the table with the `rich` library; its layout rules are
reproduced here so fastdense does not depend on it).

    Model: "sequential"
    ┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
    ┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
    ┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
    │ dense (Dense)                   │ (None, 3)              │            15 │
    └─────────────────────────────────┴────────────────────────┴───────────────┘
     Total params: 15 (60.00 B)
     Trainable params: 15 (60.00 B)
     Non-trainable params: 0 (0.00 B)

A model whose graph is not a simple chain gets a fourth column, "Connected to".
"""

import math
import re
import shutil
import sys

import numpy as np

from fastdense.models import graph as graph_utils

_MEMORY_UNITS = ["B", "KB", "MB", "GB", "TB", "PB"]


def print_summary(model, line_length=None, positions=None, print_fn=None, expand_nested=False, show_trainable=False,
                  layer_range=None):
    """Prints the summary with print_fn (called once, with the whole text), or to stdout."""
    text = summary_text(model, line_length, positions, expand_nested, show_trainable, layer_range)
    if print_fn is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        print_fn(text)


def summary_text(model, line_length=None, positions=None, expand_nested=False, show_trainable=False,
                 layer_range=None):
    """The summary as one string, each line ending in a newline."""
    sequential_like, layers = _listed_layers(model)
    if sequential_like:
        default_length, default_positions = 88, [0.45, 0.80, 1.0]
        header, justify = ["Layer (type)", "Output Shape", "Param #"], ["left", "left", "right"]
        relevant_nodes = None
    else:
        default_length, default_positions = 108, [0.3, 0.56, 0.74, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
        justify = ["left", "left", "right", "left"]
        relevant_nodes = set(model._graph_nodes)
    positions = positions or default_positions
    if show_trainable:
        default_length += 12
        positions = [p * 0.90 for p in positions] + [1.0]
        header.append("Trainable")
        justify.append("center")
    if len(positions) != len(header):
        raise ValueError(f"positions has {len(positions)} entries but the summary has {len(header)} columns "
                         f"({', '.join(header)})")
    line_length = line_length or min(default_length, shutil.get_terminal_size().columns - 4)

    rows = []
    first, last = _layer_index_range(layers, layer_range)
    for layer in layers[first:last]:
        rows.extend(_layer_rows(layer, relevant_nodes, expand_nested, show_trainable))
    table = _Table(_column_widths(positions, line_length), justify, line_length)
    # Keras's console crops a table wider than the terminal.
    console_width = shutil.get_terminal_size().columns
    table_lines = [line[:console_width] for line in table.render(header, rows)]
    lines = [f'Model: "{model.name}"'] + table_lines + _totals(model)
    return "".join(line + "\n" for line in lines)


# ------------------------------------------------------------------------------ layers

def _listed_layers(model):
    """(sequential_like, layers to list): a Functional model lists its InputLayers too, and gets
    the "Connected to" column unless its graph is a chain of single-input nodes."""
    from fastdense.models.sequential import Sequential

    if isinstance(model, Sequential) or not getattr(model, "_is_graph_network", False):
        return True, model.layers
    nodes = model._graph_nodes
    for group in graph_utils.nodes_by_depth(nodes).values():
        if len(group) > 1 or (len(group) == 1 and len(group[0].inputs) > 1):
            return False, model.layers
    in_model = set(nodes)
    for layer in model.layers:
        if sum(node in in_model for node in layer._inbound_nodes) > 1:  # a layer called twice
            return False, model.layers
    return True, model.layers


def _layer_rows(layer, relevant_nodes, expand_nested, show_trainable, level=0):
    prefix = "   " * level + "└ " if level else ""
    fields = [f"{prefix}{layer.name} ({type(layer).__name__})", _output_shape(layer), _param_count(layer)]
    if relevant_nodes is not None:
        fields.append(_connections(layer, relevant_nodes))
    if show_trainable:
        fields.append(("Y" if layer.trainable else "N") if getattr(layer, "weights", None) else "-")
    rows = [fields]
    if expand_nested and getattr(layer, "layers", None):
        for inner in layer.layers:
            rows.extend(_layer_rows(inner, relevant_nodes, expand_nested, show_trainable, level + 1))
    return rows


def _format_shape(shape):
    return f"({', '.join(str(d) for d in shape)})"  # a 1-D shape prints as "(None)", as in Keras


def _output_shape(layer):
    """The output shape of the layer's last call ("?" when it was never built)."""
    nodes = getattr(layer, "_inbound_nodes", [])
    if nodes:
        shapes = [_format_shape(t.shape) for t in nodes[-1].outputs]
    elif getattr(layer, "_build_shapes", None) is not None:
        try:
            shape = layer.compute_output_shape(layer._build_shapes)
        except NotImplementedError:
            return "?"
        shapes = [_format_shape(s) for s in shape] if isinstance(shape, list) else [_format_shape(shape)]
    else:
        return "?"
    return shapes[0] if len(shapes) == 1 else "[" + ", ".join(shapes) + "]"


def _param_count(layer):
    if not hasattr(layer, "built"):
        return "0"
    if not layer.built:
        return "0 (unbuilt)"
    return f"{layer.count_params():,}"


def _connections(layer, relevant_nodes):
    """'dense[0][0], input_layer[0][0]': the (layer, node, tensor) of every input of every call."""
    sources = []
    for node in layer._inbound_nodes:
        if relevant_nodes and node not in relevant_nodes:
            continue
        for tensor in node.inputs:
            source, node_index, tensor_index = tensor._keras_history
            sources.append(f"{source.name}[{node_index}][{tensor_index}]")
    return ", ".join(sources) or "-"


def _layer_index_range(layers, layer_range):
    """[first, last) of the layers to list; layer_range holds two name patterns (re.match)."""
    if layer_range is None:
        return 0, len(layers)
    if len(layer_range) != 2:
        raise ValueError(f"layer_range must be a list or tuple of length 2. Received: layer_range = {layer_range} "
                         f"of length {len(layer_range)}")
    if not all(isinstance(pattern, str) for pattern in layer_range):
        raise ValueError(f"layer_range should contain string type only. Received: {layer_range}")
    lower = [i for i, layer in enumerate(layers) if re.match(layer_range[0], layer.name)]
    upper = [i for i, layer in enumerate(layers) if re.match(layer_range[1], layer.name)]
    if not lower or not upper:
        raise ValueError(f"Passed layer_names do not match the layer names in the model. Received: {layer_range}")
    if min(lower) > max(upper):
        return min(upper), max(lower) + 1
    return min(lower), max(upper) + 1


# ------------------------------------------------------------------------------ totals

def _readable_memory(size):
    for unit in _MEMORY_UNITS:
        if size / 1024 < 1:
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} {_MEMORY_UNITS[-1]}"


def _count_and_bytes(arrays):
    """(number of values, bytes) of weights or optimizer variables; a weight listed twice counts
    its memory once, as in Keras."""
    count = sum(math.prod(np.shape(a)) for a in arrays)
    unique = {id(a): a for a in arrays}.values()
    size = sum(math.prod(np.shape(a)) * np.dtype(_dtype_of(a)).itemsize for a in unique)
    return int(count), size


def _dtype_of(array):
    dtype = getattr(array, "dtype", None)
    return dtype if dtype is not None else np.asarray(array).dtype


def _totals(model):
    trainable = _count_and_bytes(model.trainable_weights)
    non_trainable = _count_and_bytes(model.non_trainable_weights)
    optimizer = getattr(model, "optimizer", None)
    optimizer_built = bool(getattr(model, "compiled", False) and optimizer is not None and optimizer.built)
    optimizer_state = _count_and_bytes(optimizer.variables) if optimizer_built else (0, 0)
    total = (trainable[0] + non_trainable[0] + optimizer_state[0], trainable[1] + non_trainable[1] + optimizer_state[1])
    lines = [_total_line("Total params", total), _total_line("Trainable params", trainable),
             _total_line("Non-trainable params", non_trainable)]
    if optimizer_built:
        lines.append(_total_line("Optimizer params", optimizer_state))
    return lines


def _total_line(label, count_and_bytes):
    count, size = count_and_bytes
    return f" {label}: {count:,} ({_readable_memory(size)})"


# ------------------------------------------------------------------------------ table

def _column_widths(positions, line_length):
    widths, current = [], 0
    for position in positions:
        width = int(position * line_length) - current
        if width < 4:
            raise ValueError("Insufficient console width to print summary.")
        widths.append(width)
        current += width
    return widths


def _ratio_reduce(total, ratios, maximums, values):
    """Takes `total` away from `values` in proportion to `ratios`, at most maximums[i] from each
    (rich's ratio_reduce, Python's round() included)."""
    ratios = [ratio if maximum else 0 for ratio, maximum in zip(ratios, maximums)]
    total_ratio = sum(ratios)
    if not total_ratio:
        return list(values)
    remaining, result = total, []
    for ratio, maximum, value in zip(ratios, maximums, values):
        if ratio and total_ratio > 0:
            taken = min(maximum, round(ratio * remaining / total_ratio))
            result.append(value - taken)
            remaining -= taken
            total_ratio -= ratio
        else:
            result.append(value)
    return result


class _Table:
    """A rich Table(show_lines=True, width=line_length) of fixed-width columns, box HEAVY_HEAD.

    Each column asks for its width plus one space of padding on either side; the table, whose
    borders take columns + 1 characters, fits that into line_length by taking the excess from
    every column in turn. Cells wrap at spaces; a word too long for its cell ends in "…".
    """

    def __init__(self, requested_widths, justify, line_length):
        self.justify = justify
        self.requested = requested_widths
        self.line_length = line_length

    def _widths(self):
        available = self.line_length - (len(self.requested) + 1)
        widths = [min(width + 2, available) for width in self.requested]
        excess = sum(widths) - available
        if excess > 0:
            widths = _ratio_reduce(excess, [1] * len(widths), widths, widths)
        return widths

    def render(self, header, rows):
        widths = self._widths()
        lines = [self._rule("┏", "━", "┳", "┓", widths)]
        lines += self._row(header, widths, "┃", align_bottom=True)
        lines.append(self._rule("┡", "━", "╇", "┩", widths))
        for index, row in enumerate(rows):
            if index:
                lines.append(self._rule("├", "─", "┼", "┤", widths))
            lines += self._row(row, widths, "│")
        lines.append(self._rule("└", "─", "┴", "┘", widths))
        return lines

    @staticmethod
    def _rule(left, fill, cross, right, widths):
        return left + cross.join(fill * width for width in widths) + right

    def _row(self, cells, widths, border, align_bottom=False):
        """The lines of one row; short cells are filled with blank lines below (above in the header)."""
        wrapped = [_wrap(text, width - 2, justify) for text, width, justify in zip(cells, widths, self.justify)]
        height = max(len(lines) for lines in wrapped)
        for k, (cell, width) in enumerate(zip(wrapped, widths)):
            blank = [" " * (width - 2)] * (height - len(cell))
            wrapped[k] = blank + cell if align_bottom else cell + blank
        return [border + border.join(" " + cell[line_no] + " " for cell in wrapped) + border
                for line_no in range(height)]


def _wrap(text, width, justify):
    """rich's Text.wrap with overflow='ellipsis': lines of exactly `width` characters."""
    offsets = _break_offsets(text, width)
    lines = [text[start:end] for start, end in zip([0] + offsets, offsets + [len(text)])]
    return [_justify(_rstrip_beyond(line, width), width, justify) for line in lines]


def _break_offsets(text, width):
    """Where rich's divide_line (fold=False) breaks `text`: before a word (with its trailing
    spaces) that does not fit on the current line. A word longer than the width gets a line
    of its own and is cut later."""
    offsets, used = [], 0
    for match in re.finditer(r"\s*\S+\s*", text):
        start, word = match.start(), match.group(0)
        length = len(word.rstrip())
        if width - used >= length:
            used += len(word)
        elif length > width:
            if start:
                offsets.append(start)
            used = len(word)
        elif used and start:
            offsets.append(start)
            used = len(word)
    return offsets


def _rstrip_beyond(line, width):
    """Drops trailing spaces that stick out past the width."""
    if len(line) > width:
        trailing = len(line) - len(line.rstrip())
        line = line[:len(line) - min(trailing, len(line) - width)]
    return line


def _truncate(line, width):
    return line if len(line) <= width else line[:width - 1] + "…"


def _justify(line, width, justify):
    if justify == "left":
        return _truncate(line, width).ljust(width)
    line = _truncate(line.rstrip(), width)
    if justify == "right":
        return line.rjust(width)
    left = (width - len(line)) // 2
    return (" " * left + line).ljust(width)
