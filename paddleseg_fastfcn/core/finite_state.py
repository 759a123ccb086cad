"""Whether a model's (or optimizer's) tensors are all finite, cheaply enough to ask often.

The loss being finite does not make the update finite (a gradient can be NaN while the
loss is not, e.g. sqrt at 0), and a checkpoint of NaN weights loads and "resumes"
into garbage. The check is one fused reduction: the sum of every floating-point tensor
is NaN or infinite whenever one element is (inf - inf is NaN); only then are the
tensors looked at one by one to name the offenders. A finite state whose sum overflows
(not reachable by a model that trains) is named by that second pass as finite again,
so it never stops a run.

Measured on the EncNet + JPU ResNet-50 of configs/mini (CPU, 2 threads shared with
other jobs, 64x64, batch 4): the fused sum over the model's 359 tensors (47.4 M
values) takes 17-20 ms against a 3.2 s training step (under 1 %); one
``paddle.isfinite(t).all()`` per tensor takes 51 ms. The trainer checks at every log
line and before every evaluation and checkpoint; in between, NaN weights make the
next loss NaN, which stops the run before that update.
"""
import numpy as np
import paddle

from paddleseg_fastfcn.core.distributed import mean_over_ranks


def _float_tensors(state):
    """[(name, tensor)] of the floating-point tensors in a (nested) state dict."""
    found = []

    def walk(prefix, value):
        if isinstance(value, dict):
            for key, item in value.items():
                walk('{}.{}'.format(prefix, key) if prefix else str(key), item)
        elif isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                walk('{}[{}]'.format(prefix, i), item)
        elif isinstance(value, paddle.Tensor) and value.dtype in (
                paddle.float16, paddle.bfloat16, paddle.float32, paddle.float64):
            found.append((prefix, value))
        elif isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.floating):
            found.append((prefix, value))
    walk('', state)
    return found


def state_sum(state):
    """The float64 sum of every floating-point value in ``state``: non-finite iff one value is
    (or, for finite values, if the sum overflows float64: a state no training reaches).

    Args:
        state (dict): a ``state_dict`` (tensors or numpy arrays, nested).

    Returns:
        float
    """
    tensors = [t for _, t in _float_tensors(state)]
    if not tensors:
        return 0.0
    total = 0.0
    dense = [t for t in tensors if isinstance(t, paddle.Tensor)]
    if dense:
        # One reduction per tensor (float32 accumulation, also for fp16 / bf16 tensors, whose
        # own range a sum of ordinary values can exceed), one add_n, one copy to the host.
        total += float(paddle.add_n([paddle.sum(t, dtype='float32').astype('float64') for t in dense]))
    total += sum(float(np.sum(t, dtype=np.float64)) for t in tensors if isinstance(t, np.ndarray))
    return total


def non_finite_names(state):
    """Names of the floating-point tensors of ``state`` holding a NaN or an infinity.

    Args:
        state (dict): a ``state_dict`` (tensors or numpy arrays, nested).

    Returns:
        list[str]: dotted names, in state order; empty when all are finite.
    """
    if np.isfinite(state_sum(state)):
        return []
    bad = []
    for name, tensor in _float_tensors(state):
        if isinstance(tensor, paddle.Tensor):
            # In paddle: a bfloat16 tensor's numpy() is its raw uint16 bits.
            finite = bool(paddle.isfinite(tensor.astype('float32')).all())
        else:
            finite = bool(np.isfinite(tensor).all())
        if not finite:
            bad.append(name)
    return bad


def describe(names, limit=5):
    """``'a, b, c and 4 more'``: the first ``limit`` names of a list."""
    shown = ', '.join(names[:limit])
    return shown + (' and {} more'.format(len(names) - limit) if len(names) > limit else '')


def check_model_finite(model, iteration):
    """Stop training when the model's parameters or buffers are no longer finite.

    All ranks take part (one all_reduce) and stop together.

    Args:
        model (paddle.nn.Layer): the unwrapped model, after the update of ``iteration``.
        iteration (int): the iteration whose update was just applied.

    Raises:
        FloatingPointError: naming the iteration and the non-finite tensors.
    """
    state = model.state_dict()
    local = state_sum(state)
    if np.isfinite(mean_over_ranks([local])[0]):
        return
    names = non_finite_names(state) if not np.isfinite(local) else []
    where = describe(names) if names else 'a tensor on another rank'
    if np.isfinite(local) or names:
        raise FloatingPointError(
            'non-finite parameters after the update of iteration {}: {}; training stopped, no '
            'checkpoint holds them (the last saved one is intact; lower the learning rate or check '
            'the data)'.format(iteration, where))
