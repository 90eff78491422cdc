"""RMSprop."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from fastdense.optimizers.base import Optimizer, _real, default_rate

if TYPE_CHECKING:
    from fastdense.optimizers.schedules import LearningRateSchedule


class RMSprop(Optimizer):
    """RMSprop, Keras 3: v = rho*v + (1-rho)*g^2; w -= lr*g / sqrt(v + eps) (eps inside the root);
    centered subtracts the squared running mean of g; momentum > 0 accumulates the steps."""

    _native_name = "rmsprop"

    def __init__(
        self,
        learning_rate: float | LearningRateSchedule | Callable[[], float] = default_rate(0.001),
        rho: float = 0.9,
        momentum: float = 0.0,
        epsilon: float = 1e-7,
        centered: bool = False,
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
        self.momentum = _real("momentum", momentum)
        self.epsilon = _real("epsilon", epsilon)
        self.centered = bool(centered)

    def _rule_config(self):
        return {"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon, "centered": self.centered}

    def get_config(self):
        config = super().get_config()
        config.update(self._rule_config())
        return config
