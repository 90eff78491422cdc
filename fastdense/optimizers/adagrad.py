"""Adagrad."""

from fastdense.optimizers.base import Optimizer, _real, default_rate


class Adagrad(Optimizer):
    """Adagrad, Keras 3: acc += g^2 (from initial_accumulator_value); w -= lr*g / sqrt(acc + eps)."""

    _native_name = "adagrad"

    def __init__(
        self,
        learning_rate=default_rate(0.001),
        initial_accumulator_value=0.1,
        epsilon=1e-7,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        use_ema=False,
        ema_momentum=0.99,
        ema_overwrite_frequency=None,
        loss_scale_factor=None,
        gradient_accumulation_steps=None,
        name=None,
        **kwargs,
    ):
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
        self.initial_accumulator_value = _real("initial_accumulator_value", initial_accumulator_value)
        self.epsilon = _real("epsilon", epsilon)

    def _rule_config(self):
        return {"initial_accumulator_value": self.initial_accumulator_value, "epsilon": self.epsilon}

    def get_config(self):
        config = super().get_config()
        config.update(self._rule_config())
        return config
