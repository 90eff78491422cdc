"""Adadelta."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from fastdense.optimizers.base import Optimizer, _real, default_rate

if TYPE_CHECKING:
    from fastdense.optimizers.schedules import LearningRateSchedule


class Adadelta(Optimizer):
    """Adadelta, Keras 3: running averages of g^2 and of the squared steps set a per-weight scale;
    the step is lr * (-sqrt(Edx + eps) * g / sqrt(Eg + eps))."""

    _native_name = "adadelta"

    def __init__(
        self,
        learning_rate: float | LearningRateSchedule | Callable[[], float] = default_rate(0.001),
        rho: float = 0.95,
        epsilon: float = 1e-7,
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
        self.rho = _real("rho", rho)
        self.epsilon = _real("epsilon", epsilon)

    def _rule_config(self):
        return {"rho": self.rho, "epsilon": self.epsilon}

    def get_config(self):
        config = super().get_config()
        config.update(self._rule_config())
        return config
