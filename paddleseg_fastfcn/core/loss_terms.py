"""Weighted sum of the per-output losses, with named terms and a finiteness check.

Config schema (PaddleSeg's): ``loss: {types: [L0, L1, ...], coef: [c0, c1, ...]}``;
loss type i with coefficient i applies to model output i.

Term names, by position, for logs and VisualDL: output 0 is ``main``; an output
whose loss is ``SemanticEncodingLoss`` is ``se``; any other output is ``aux``
(``aux2``, ``aux3`` ... if there are several). FastFCN's training outputs
[main, aux, se] thus log as ``main=... aux=... se=...``. Logged terms are the
coefficient-weighted contributions, so they add up to ``loss``.
"""
import math


def term_names(loss_types):
    """Names of the loss terms, one per loss type (see module docstring)."""
    names, aux_count = [], 0
    for i, loss in enumerate(loss_types):
        if i == 0:
            names.append('main')
        elif type(loss).__name__ == 'SemanticEncodingLoss':
            names.append('se')
        else:
            aux_count += 1
            names.append('aux' if aux_count == 1 else 'aux{}'.format(aux_count))
    return names


def weighted_loss_terms(outputs, label, losses):
    """coef_i * loss_i(outputs[i], label) for every output.

    Args:
        outputs (list[Tensor]): the model's training outputs.
        label: int64 [N, H, W].
        losses (dict): {'types': [...], 'coef': [...]} from the builder.

    Returns:
        list of 0-D tensors, one per output.
    """
    types, coefs = losses['types'], losses['coef']
    if len(types) != len(coefs):
        raise ValueError('loss config: {} types but {} coef entries'.format(len(types), len(coefs)))
    if len(outputs) != len(types):
        raise ValueError(
            'the model returns {} outputs in training but the config\'s loss has {} types '
            '(loss type i applies to output i; check loss.types / loss.coef against the '
            'model\'s aux_head / use_se_loss)'.format(len(outputs), len(types)))
    return [coef * loss(out, label) for out, loss, coef in zip(outputs, types, coefs)]


def check_finite(term_values, names, iteration):
    """Raise FloatingPointError naming the iteration and the non-finite terms.

    Args:
        term_values (list[float]): weighted terms as python floats.
    """
    bad = ['{}={}'.format(n, v) for n, v in zip(names, term_values) if not math.isfinite(v)]
    if bad:
        raise FloatingPointError(
            'non-finite loss at iteration {}: {}; training stopped, the last saved '
            'checkpoint is intact (lower the learning rate or check the data)'.format(
                iteration, ', '.join(bad)))

