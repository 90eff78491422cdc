"""DistributedOptimizer: the optimizer of data-parallel training.

Under fit, the averaging runs in the native step: the network built for this optimizer gets a
gradient hook (`_core.Network.set_gradient_hook`) that receives every trainable gradient packed
in one buffer after backward and before the update (Horovod's tensor fusion) and replaces it by
the mean over all ranks. The mean is weighted by each rank's batch size (the buffer carries it),
so a step equals one step of a single process on the union of the ranks' batches, also when the
last batches differ in size: Keras divides a batch's loss by its sample count, so the union's
gradient is Σ n_r·g_r / Σ n_r, not the plain mean of the g_r.

`apply` / `apply_gradients` (custom loops) average the given gradients with an allreduce first.
"""

from fastdense.horovod import collectives, runtime

_UNSUPPORTED_DEFAULTS = {"sparse_as_dense": False, "backward_passes_per_step": 1,
                         "average_aggregated_gradients": False, "num_groups": 0, "groups": None,
                         "process_set": None, "gradient_predivide_factor": 1.0}


class _DistributedOptimizerMixin:
    """Added in front of the wrapped optimizer's class (as Horovod creates a subclass), so the
    optimizer keeps its class name, config and saved form."""

    _fastdense_distributed = True

    def _attach_to_network(self, network):
        """Called by `fastdense.native.build_network` once the training network has its optimizer."""
        hook = runtime.group().gradient_hook()
        if hook is not None:
            network.set_gradient_hook(hook)

    def apply(self, grads, trainable_variables=None):
        grads = [None if g is None else collectives.allreduce(g, op=collectives.Average) for g in grads]
        return super().apply(grads, trainable_variables)


def DistributedOptimizer(optimizer, name=None, device_dense="", device_sparse="", compression=None,  # noqa: N802
                         sparse_as_dense=False, gradient_predivide_factor=1.0, op=collectives.Average,
                         backward_passes_per_step=1, average_aggregated_gradients=False, num_groups=0,
                         groups=None, process_set=None, scale_local_gradients=True):
    """`optimizer` averaging its gradients over all ranks before every update (Horovod's
    arguments; device placement is ignored; options Horovod uses for gradient aggregation or
    compression must keep their defaults)."""
    runtime.group()  # hvd.init() first, as in Horovod
    given = {"sparse_as_dense": sparse_as_dense, "backward_passes_per_step": backward_passes_per_step,
             "average_aggregated_gradients": average_aggregated_gradients, "num_groups": num_groups,
             "groups": groups, "process_set": process_set, "gradient_predivide_factor": gradient_predivide_factor}
    for key, default in _UNSUPPORTED_DEFAULTS.items():
        if given[key] != default:
            raise NotImplementedError(f"fastdense.horovod.DistributedOptimizer: {key}={given[key]!r} is not supported")
    if compression is not collectives.Compression.none:
        raise NotImplementedError("fastdense.horovod.DistributedOptimizer: only Compression.none is supported")
    if op != collectives.Average:
        raise NotImplementedError("fastdense.horovod.DistributedOptimizer: gradients are averaged (op=hvd.Average)")
    if getattr(optimizer, "_fastdense_distributed", False):
        return optimizer
    base = type(optimizer)
    cls = type(base.__name__, (_DistributedOptimizerMixin, base), {"__module__": base.__module__})
    distributed = cls.__new__(cls)
    distributed.__dict__.update(optimizer.__dict__)  # keeps its hyper-parameters, slots and iterations
    if name is not None:
        distributed.name = name
    return distributed


def load_model(filepath, custom_optimizers=None, custom_objects=None, compression=None):
    """Horovod's hvd.load_model: loads a saved model and wraps its optimizer in DistributedOptimizer,
    keeping the optimizer's saved state (to resume from a checkpoint rank 0 wrote)."""
    from fastdense.models import load_model as fd_load_model

    objects = dict(custom_objects or {})
    for cls in custom_optimizers or []:
        objects[cls.__name__] = cls
    model = fd_load_model(filepath, custom_objects=objects or None)
    if getattr(model, "optimizer", None) is not None:
        model.optimizer = DistributedOptimizer(model.optimizer, compression=compression)
        model._invalidate_native()
    return model
