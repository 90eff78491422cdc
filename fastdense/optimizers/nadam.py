"""Nadam."""

from fastdense.optimizers.base import Optimizer, _real, default_rate


class Nadam(Optimizer):
    """Nadam, Keras 3: Adam with Nesterov momentum under Dozat's schedule mu_t = beta_1*(1 - 0.5*0.96^t)."""

    _native_name = "nadam"
    # Keras keeps the running product of the momentum schedule in an unnamed variable after the slots.
    _scalar_paths = ("variable",)

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
