"""Adamax."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from fastdense.optimizers.base import Optimizer, _real, default_rate

if TYPE_CHECKING:
    from fastdense.optimizers.schedules import LearningRateSchedule


class Adamax(Optimizer):
    """Adamax, Keras 3: m as in Adam, u = max(beta_2*u, |g|); w -= lr*m / ((1 - beta_1^t)*(u + eps))."""

    _native_name = "adamax"

    def __init__(
        self,
        learning_rate: float | LearningRateSchedule | Callable[[], float] = default_rate(0.001),
        beta_1: float = 0.9,
        beta_2: float = 0.999,
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
        self.beta_1 = _real("beta_1", beta_1)
        self.beta_2 = _real("beta_2", beta_2)
        self.epsilon = _real("epsilon", epsilon)

    def _rule_config(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}

    def get_config(self):
        config = super().get_config()
        config.update(self._rule_config())
        return config
