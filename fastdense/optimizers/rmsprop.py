"""RMSprop."""

from fastdense.optimizers.base import Optimizer, _real, default_rate


class RMSprop(Optimizer):
    """RMSprop, Keras 3: v = rho*v + (1-rho)*g^2; w -= lr*g / sqrt(v + eps) (eps inside the root);
    centered subtracts the squared running mean of g; momentum > 0 accumulates the steps."""

    _native_name = "rmsprop"

    def __init__(
        self,
        learning_rate=default_rate(0.001),
        rho=0.9,
        momentum=0.0,
        epsilon=1e-7,
        centered=False,
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
        self.momentum = _real("momentum", momentum)
        self.epsilon = _real("epsilon", epsilon)
        self.centered = bool(centered)

    def _rule_config(self):
        return {"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon, "centered": self.centered}

    def get_config(self):
        config = super().get_config()
        config.update(self._rule_config())
        return config
