"""Training curves from a `History` (or its `history` dict)."""

_MISSING_MATPLOTLIB = (
    "plot_history requires matplotlib. Install it with `pip install fastdense[plot]` "
    "(or `pip install matplotlib`)."
)


def plot_history(history, metrics=None):
    """Plots each metric's training curve, with its `val_` curve when there is one.

    Args:
        history: the `History` returned by `fit`, or a dict of lists like `History.history`.
        metrics: names to plot, one axes each (e.g. `["loss", "accuracy"]`). Defaults to every
            recorded name except the `val_` ones, which are drawn next to their training curve.

    Returns:
        A `matplotlib.figure.Figure` with one row of axes per metric; x is the 1-based epoch.
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError(_MISSING_MATPLOTLIB) from error

    series = getattr(history, "history", history)
    epochs = [e + 1 for e in getattr(history, "epoch", [])]
    if not epochs:
        epochs = list(range(1, max(map(len, series.values()), default=0) + 1))
    if metrics is None:
        metrics = _default_metrics(series)
    if not metrics:
        raise ValueError("plot_history: the history holds no metrics to plot.")
    unknown = [m for m in metrics if m not in series and "val_" + m not in series]
    if unknown:
        raise ValueError(f"plot_history: no recorded values for {unknown}; recorded: {list(series)}")

    figure, axes = plt.subplots(len(metrics), 1, figsize=(6.4, 2.6 * len(metrics)), squeeze=False)
    for ax, name in zip(axes[:, 0], metrics):
        _plot_metric(ax, name, series, epochs)
    axes[-1, 0].set_xlabel("epoch")
    figure.tight_layout()
    return figure


def _default_metrics(series):
    names = [k for k in series if not k.startswith("val_")]
    # A validation-only quantity still gets its own axes.
    names += [k[4:] for k in series if k.startswith("val_") and k[4:] not in series]
    return names


def _plot_metric(ax, name, series, epochs):
    for key, label in ((name, "train"), ("val_" + name, "validation")):
        values = series.get(key)
        if values:
            ax.plot(_epoch_axis(len(values), epochs), values, marker="o", markersize=3, label=label)
    ax.set_ylabel(name)
    ax.grid(True, alpha=0.3)
    ax.legend()


def _epoch_axis(count, epochs):
    """The 1-based epochs at which `count` values were recorded.

    With `validation_freq=k`, validation runs in the epochs whose number is a multiple of k, so
    a shorter `val_` series is placed at the multiples of the smallest k that fits.
    """
    for freq in range(1, len(epochs) + 1):
        due = [e for e in epochs if e % freq == 0]
        if len(due) == count:
            return due
    return epochs[:count]
