"""SGD with optional (Nesterov) momentum."""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any, Callable

from fastdense.optimizers.base import Optimizer, default_rate

if TYPE_CHECKING:
    from fastdense.optimizers.schedules import LearningRateSchedule


class SGD(Optimizer):
    """Gradient descent, Keras 3: w -= lr*g; with momentum m = momentum*m - lr*g, then w += m
    (nesterov: w += momentum*m - lr*g). The momentum slot exists only when momentum > 0."""

    _native_name = "sgd"

    def __init__(
        self,
        learning_rate: float | LearningRateSchedule | Callable[[], float] = default_rate(0.01),
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        use_ema: bool = False,
        ema_momentum: float = 0.99,
        ema_overwrite_frequency: int | None = None,
        loss_scale_factor: float | None = None,
        gradient_accumulation_steps: int | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            learning_rate=learning_rate,
            weight_decay=weight_decay,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            use_ema=use_ema,
            ema_momentum=ema_momentum,
            ema_overwrite_frequency=ema_overwrite_frequency,
            loss_scale_factor=loss_scale_factor,
            gradient_accumulation_steps=gradient_accumulation_steps,
            name=name,
            **kwargs,
        )
        # Keras insists on a float; an int 0 or 1 is accepted here as well.
        if isinstance(momentum, bool) or not isinstance(momentum, numbers.Real) or not 0 <= momentum <= 1:
            raise ValueError("`momentum` must be a float between [0, 1].")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def _rule_config(self):
        return {"momentum": self.momentum, "nesterov": self.nesterov}

    def get_config(self):
        config = super().get_config()
        config.update({"momentum": self.momentum, "nesterov": self.nesterov})
        return config
