"""Console output shared by the progress bar and the callbacks."""

import os
import sys


def print_msg(message, line_break=True):
    """Writes `message` to the current `sys.stdout` and flushes it.

    Streams that cannot encode the bar character "━" (e.g. a latin-1 console) get "=" instead,
    the same fallback Keras uses, so a progress bar never raises UnicodeEncodeError.
    """
    message = str(message)
    if line_break:
        message += "\n"
    stream = sys.stdout
    try:
        stream.write(message)
    except UnicodeEncodeError:
        encoding = getattr(stream, "encoding", None) or "utf-8"
        message = message.replace("━", "=").encode(encoding, errors="ignore").decode(encoding)
        stream.write(message)
    stream.flush()


def stdout_is_interactive():
    """Whether stdout is a display that understands `\\r`/`\\b` redraws and ANSI colours.

    True for a terminal, a Jupyter kernel and PyCharm's run console. Keras additionally treats any
    POSIX process as interactive, which floods log files with redraws; fastdense does not (see
    `fastdense.utils.progbar.Progbar`).
    """
    isatty = getattr(sys.stdout, "isatty", None)
    try:
        if isatty is not None and isatty():
            return True
    except ValueError:  # a closed stream
        return False
    return "ipykernel" in sys.modules or "PYCHARM_HOSTED" in os.environ
