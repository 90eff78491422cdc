"""Adamax."""

from fastdense.optimizers.base import Optimizer, _real, default_rate


class Adamax(Optimizer):
    """Adamax, Keras 3: m as in Adam, u = max(beta_2*u, |g|); w -= lr*m / ((1 - beta_1^t)*(u + eps))."""

    _native_name = "adamax"

    def __init__(
        self,
        learning_rate=default_rate(0.001),
        beta_1=0.9,
        beta_2=0.999,
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
        self.beta_1 = _real("beta_1", beta_1)
        self.beta_2 = _real("beta_2", beta_2)
        self.epsilon = _real("epsilon", epsilon)

    def _rule_config(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}

    def get_config(self):
        config = super().get_config()
        config.update(self._rule_config())
        return config
