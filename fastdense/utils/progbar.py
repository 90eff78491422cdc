"""The Keras 3 progress bar (`keras.utils.Progbar`), rendered byte for byte on a terminal.

Layout at `verbose=1`, without its ANSI colours (bold counter and time, green done part)::

     7/12 ━━━━━━━━━━━━━━━━━━━━ 2s 210ms/step - loss: 0.5754

The counter is right-aligned to the width of the target. Before the end the time shown is the ETA
("Ns", "m:ss" or "h:mm:ss"); on the final line it is the elapsed time. The per-step time leaves out
the first step (which includes start-up work) once a later step has been seen. At `verbose=2`
a single plain line is printed when the bar is finalized::

    3/3 - 1s - 298ms/step - accuracy: 0.5500 - loss: 0.7058

Deliberate difference from Keras: Keras treats every POSIX process as an interactive display, so
a run whose stdout goes to a file or a pipe writes a `\\b...\\r` redraw (with colour codes) every
0.05 s. Here, when stdout is not a terminal (nor a Jupyter kernel or PyCharm console), only the
final line of each bar is printed, as plain text ending in a newline. On a terminal the output is
identical to Keras.
"""

import math
import time

import numpy as np

from fastdense.utils.io_utils import print_msg, stdout_is_interactive

_BOLD, _GREEN, _WHITE = "1", "32", "37"
_BAR_CHAR = "━"


class Progbar:
    """Displays a progress bar.

    Args:
        target: total number of steps expected, or None if unknown.
        width: width of the bar in characters.
        verbose: 0 (silent), 1 (a redrawn bar), 2 (one line when finalized).
        interval: minimum time in seconds between two redraws.
        stateful_metrics: names whose values are displayed as given. All other names are
            averaged over the steps by the bar, weighted by the number of steps each update
            covers. Give at most one of `stateful_metrics` and `stateless_metrics`.
        stateless_metrics: names that are averaged; all other names are displayed as given.
            `ProgbarLogger` passes an empty set, because the model's logs are already running
            means.
        unit_name: the unit in the per-unit time ("step" gives "12ms/step").
    """

    def __init__(
        self,
        target,
        width=20,
        verbose=1,
        interval=0.05,
        stateful_metrics=None,
        stateless_metrics=None,
        unit_name="step",
    ):
        if stateful_metrics is not None and stateless_metrics is not None:
            raise ValueError(
                "Only one of `stateful_metrics` or `stateless_metrics` can be provided: "
                "`stateful_metrics` lists the names shown as given (all others are averaged), "
                "`stateless_metrics` lists the names that are averaged (all others are shown as "
                "given)."
            )
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        if stateless_metrics is not None:
            self.stateful_metrics = None
            self.stateless_metrics = set(stateless_metrics)
        else:
            self.stateful_metrics = set(stateful_metrics or ())
            self.stateless_metrics = None

        self._dynamic_display = stdout_is_interactive()
        self._seen_so_far = 0
        self._values = {}  # name -> [weighted sum, weight]
        self._values_order = []
        self._start = time.time()
        self._last_update = 0
        self._time_after_first_step = None
        self._prev_total_width = 0
        self._line_open = False  # a redrawn line is on screen without its final newline

    def update(self, current, values=None, finalize=None):
        """Moves the bar to step `current` (1-based count of steps done).

        Args:
            current: number of steps completed so far.
            values: list of `(name, value)` pairs for the step(s) since the previous update.
            finalize: whether this is the last update; defaults to `current >= target`.
        """
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        self._record_values(current, values or [], finalize)
        self._seen_so_far = current

        now = time.time()
        time_per_unit = self._estimate_step_duration(current, now)
        if self.verbose == 1:
            if not finalize:
                throttled = now - self._last_update < self.interval
                if throttled or not self._dynamic_display:
                    return
            self._draw_bar(current, now, time_per_unit, finalize)
        elif self.verbose == 2 and finalize and self.target is not None and self.target > 0:
            print_msg(self._summary_line(current, now, time_per_unit), line_break=False)
        self._last_update = now

    def add(self, n, values=None):
        """Advances the bar by `n` steps."""
        self.update(self._seen_so_far + n, values)

    def end_line(self):
        """Ends the bar's line if it was drawn but not finalized (a run stopped by Ctrl-C), so
        that what is printed next starts on a line of its own. Not in Keras's Progbar."""
        if self._line_open:
            print_msg("")
            self._line_open = False

    # -- bookkeeping -----------------------------------------------------------------------

    def _is_averaged(self, name):
        if self.stateful_metrics is not None:
            return name not in self.stateful_metrics
        return name in self.stateless_metrics

    def _record_values(self, current, values, finalize):
        for name, value in values:
            if name not in self._values_order:
                self._values_order.append(name)
            if not self._is_averaged(name) or finalize:
                # A finalizing update carries the epoch's result, which replaces the average.
                self._values[name] = [value, 1]
                continue
            # One update may cover several steps; weight it by how many.
            steps_covered = max(current - self._seen_so_far, 1)
            if name in self._values:
                self._values[name][0] += value * steps_covered
                self._values[name][1] += steps_covered
            else:
                self._values[name] = [value * steps_covered, steps_covered]

    def _estimate_step_duration(self, current, now):
        """Seconds per step; the first step is excluded once a later step has been seen."""
        if not current:
            return 0
        if self._time_after_first_step is not None and current > 1:
            time_per_unit = (now - self._time_after_first_step) / (current - 1)
        else:
            time_per_unit = (now - self._start) / current
        if current == 1:
            self._time_after_first_step = now
        return time_per_unit

    # -- rendering -------------------------------------------------------------------------

    def _draw_bar(self, current, now, time_per_unit, finalize):
        segments = self._counter_and_bar(current)
        if self.target is not None and self.target > 0 and not finalize:
            clock = _format_eta(time_per_unit * (self.target - current))
        else:
            clock = f"{now - self._start:.0f}s"
        segments += [(" ", None), (clock, _BOLD)]
        segments.append((_format_time(time_per_unit, self.unit_name), None))
        segments.append((self._metrics_text(abs_threshold=True), None))

        plain_width = sum(len(text) for text, _ in segments)
        if self._dynamic_display:
            message = "\b" * self._prev_total_width + "\r" + _render(segments, colour=True)
            if self._prev_total_width > plain_width:
                message += " " * (self._prev_total_width - plain_width)
        else:
            message = _render(segments, colour=False)
        if finalize:
            message += "\n"
        print_msg(message, line_break=False)
        self._prev_total_width = plain_width
        self._line_open = not finalize

    def _counter_and_bar(self, current):
        if self.target is None or self.target <= 0:
            return [("%7d/Unknown" % current, None)]
        digits = int(math.log10(self.target)) + 1
        segments = [(f"%{digits}d/%d" % (current, self.target), _BOLD), (" ", None)]
        filled = int(self.width * (float(current) / self.target))
        if filled > 0:
            segments.append((_BAR_CHAR * filled, _GREEN))
        # Keras emits the white segment even when it is empty; kept for byte-identical output.
        segments.append((_BAR_CHAR * (self.width - filled), _WHITE))
        return segments

    def _summary_line(self, current, now, time_per_unit):
        digits = int(math.log10(self.target)) + 1
        line = f"%{digits}d/%d - {now - self._start:.0f}s -" % (current, self.target)
        line += _format_time(time_per_unit, self.unit_name)
        # Keras's verbose=2 line tests `v > 1e-3` (not |v|): negative values print as .4e.
        return line + self._metrics_text(abs_threshold=False) + "\n"

    def _metrics_text(self, abs_threshold):
        text = ""
        for name in self._values_order:
            total, weight = self._values[name]
            text += f" - {name}: {_format_value(total, weight, abs_threshold)}"
        return text


def _render(segments, colour):
    if not colour:
        return "".join(text for text, _ in segments)
    return "".join(
        text if code is None else f"\x1b[{code}m{text}\x1b[0m" for text, code in segments
    )


def _format_value(total, weight, abs_threshold):
    try:
        if not isinstance(total, float):
            total = np.mean(total)
        average = total / max(1, weight)
        large = (abs(average) if abs_threshold else average) > 1e-3
    except TypeError:  # a non-numeric log entry (e.g. a string) is shown as it is
        return str(total)
    return f"{average:.4f}" if large else f"{average:.4e}"


def _format_eta(seconds):
    if seconds > 3600:
        return "%d:%02d:%02d" % (seconds // 3600, (seconds % 3600) // 60, seconds % 60)
    if seconds > 60:
        return "%d:%02d" % (seconds // 60, seconds % 60)
    return "%ds" % seconds


def _format_time(time_per_unit, unit_name):
    if time_per_unit >= 1 or time_per_unit == 0:
        return f" {time_per_unit:.0f}s/{unit_name}"
    if time_per_unit >= 1e-3:
        return f" {time_per_unit * 1e3:.0f}ms/{unit_name}"
    return f" {time_per_unit * 1e6:.0f}us/{unit_name}"
