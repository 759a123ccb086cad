"""Parameters and multiply-adds (MACs) of a model, counted with forward hooks.

Shared by tools/model_summary.py and tools/benchmark.py, so both report the same numbers.

Only convolutions and fully connected layers are counted (the convention of the
FastFCN paper's cost figures): they are nearly all of the arithmetic, and
what remains (BN, activations, pooling, resizes, the Encoding layer's matrix
products) is memory-bound work that a MAC count would misrepresent. Reports
give them as GMACs (1e9 multiply-adds); a rate in FLOP/s is 2 x MACs / s.
"""
import numpy as np
import paddle.nn as nn


def conv_macs(layer, output):
    """MACs of one Conv2D call: each output element is a (C_in/groups)*kh*kw dot product."""
    kh, kw = layer.weight.shape[2], layer.weight.shape[3]
    per_output = layer.weight.shape[1] * kh * kw  # weight: [C_out, C_in/groups, kh, kw]
    return int(np.prod(output.shape)) * per_output


def linear_macs(layer, output):
    """MACs of one Linear call (weight: [in_features, out_features])."""
    return int(np.prod(output.shape)) * layer.weight.shape[0]


class MacCounter:
    """Counts conv + linear MACs of the forward passes run while it is attached.

    Usage::

        with MacCounter(model) as counter:
            model(x)
        counter.macs      # int, all of them
        counter.per_part  # {'backbone': ..., 'neck': ..., 'head': ...} by top-level sublayer
    """

    def __init__(self, model):
        self.model = model
        self.macs = 0
        self.per_part = {}
        self._handles = []

    def _hook(self, count, part):
        def hook(layer, inputs, output):
            macs = count(layer, output)
            self.macs += macs
            self.per_part[part] = self.per_part.get(part, 0) + macs
        return hook

    def __enter__(self):
        for name, layer in self.model.named_sublayers(include_self=True):
            part = name.split('.')[0] or 'model'
            if isinstance(layer, nn.Conv2D):
                self._handles.append(layer.register_forward_post_hook(self._hook(conv_macs, part)))
            elif isinstance(layer, nn.Linear):
                self._handles.append(layer.register_forward_post_hook(self._hook(linear_macs, part)))
        return self

    def __exit__(self, *exc):
        for handle in self._handles:
            handle.remove()
        self._handles = []
        return False


def count_parameters(model, trainable=True):
    """Trainable parameters (weights, biases, BN affine, codewords), as the official
    code counts them; with ``trainable=False`` the others instead (BN running
    statistics, which Paddle keeps as stop_gradient parameters)."""
    return int(sum(int(np.prod(p.shape)) for p in model.parameters() if p.stop_gradient != trainable))
