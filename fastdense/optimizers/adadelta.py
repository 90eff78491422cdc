"""Adadelta."""

from fastdense.optimizers.base import Optimizer, _real, default_rate


class Adadelta(Optimizer):
    """Adadelta, Keras 3: running averages of g^2 and of the squared steps set a per-weight scale;
    the step is lr * (-sqrt(Edx + eps) * g / sqrt(Eg + eps))."""

    _native_name = "adadelta"

    def __init__(
        self,
        learning_rate=default_rate(0.001),
        rho=0.95,
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
        self.rho = _real("rho", rho)
        self.epsilon = _real("epsilon", epsilon)

    def _rule_config(self):
        return {"rho": self.rho, "epsilon": self.epsilon}

    def get_config(self):
        config = super().get_config()
        config.update(self._rule_config())
        return config
