"""Whole-image, sliding-window, multi-scale and flipped inference (shared by evaluate and predict).

The one implementation of the protocol, for any "logits function": a dygraph
model or any callable ``Tensor [1, C_in, h, w] -> Tensor [1, C, h, w]`` (the
exported model evaluated through ``deploy``, which wraps its predictor so).

Follows the official FastFCN evaluation: the image is resized to each scale,
optionally flipped, run whole or by sliding windows whose logits are averaged
where windows overlap, and the logits of all scales and flips are summed at the
input size. PaddleSeg 2.8's ``core.infer`` does the same but resizes with
``F.interpolate`` (align_corners=False); here every bilinear resize is
``resize_align_corners``, as in the official code and in this project's models
(whose exported graphs must avoid oneDNN's bilinear kernel).
"""
import collections.abc
import functools
import os

import numpy as np
import paddle

from paddleseg_fastfcn.models.layers.resize import resize_align_corners
from paddleseg_fastfcn.utils.trans_info import reverse_transform
from paddleseg_fastfcn.utils.weights import load_weights
from .inference_options import InferenceOptions


def load_model_weights(model, model_path):
    """Load a trained model's ``model.pdparams`` into ``model`` (rule: strict).

    Raises:
        FileNotFoundError: ``model_path`` does not exist.
        WeightsError (a ValueError): missing / unexpected keys or shape mismatches (all named).
        UnsafePickleError: the file would run code when unpickled (refused).
    """
    if not model_path or not os.path.isfile(model_path):
        raise FileNotFoundError('model weights not found: {}'.format(model_path))
    load_weights(model, model_path, strict=True)


def forward_logits(model, im):
    """The model's main logits for ``im`` [N, C_in, H, W] -> [N, C, H, W]."""
    outputs = model(im)
    if not isinstance(outputs, collections.abc.Sequence):
        raise TypeError('the model must return a list of logits, got {}'.format(type(outputs)))
    return outputs[0]


def as_logits_fn(model):
    """``model`` as a logits function ``Tensor [1, C_in, h, w] -> Tensor [1, C, h, w]``.

    Args:
        model (paddle.nn.Layer | callable): a segmentation model (its main logits are
            taken, see ``forward_logits``) or already a logits function.
    """
    if isinstance(model, paddle.nn.Layer):
        return functools.partial(forward_logits, model)
    if not callable(model):
        raise TypeError('expected a paddle.nn.Layer or a logits function, got {}'.format(type(model)))
    return model


def slide_inference(model, im, crop_size, stride):
    """Logits of ``im`` from overlapping windows, averaged where they overlap.

    Args:
        model (paddle.nn.Layer | callable): segmentation model in eval mode, or a
            logits function (see ``as_logits_fn``).
        im (Tensor): [1, C_in, H, W].
        crop_size (tuple): window ``(w, h)``; windows are clipped to the image.
        stride (tuple): step ``(w, h)``, positive and at most ``crop_size``
            (``InferenceOptions`` checks both).

    Returns:
        Tensor: [1, C, H, W] float32.
    """
    h_im, w_im = im.shape[-2:]
    w_crop, h_crop = crop_size
    w_stride, h_stride = stride
    logits_fn = as_logits_fn(model)
    rows = 1 if h_im <= h_crop else int(np.ceil((h_im - h_crop) / h_stride)) + 1
    cols = 1 if w_im <= w_crop else int(np.ceil((w_im - w_crop) / w_stride)) + 1
    total, count = None, np.zeros([1, 1, h_im, w_im], np.float32)
    for r in range(rows):
        for c in range(cols):
            # The last window of a row / column is shifted back to end at the border.
            h2, w2 = min(r * h_stride + h_crop, h_im), min(c * w_stride + w_crop, w_im)
            h1, w1 = max(h2 - h_crop, 0), max(w2 - w_crop, 0)
            logit = logits_fn(im[:, :, h1:h2, w1:w2]).numpy()
            if total is None:
                total = np.zeros([1, logit.shape[1], h_im, w_im], np.float32)
            total[:, :, h1:h2, w1:w2] += logit
            count[:, :, h1:h2, w1:w2] += 1
    return paddle.to_tensor(total / count)


def infer_logits(model, im, options):
    """Single-scale logits of ``im`` [1, C_in, H, W], whole image or by sliding windows
    (``options.is_slide``, ``crop_size``, ``stride``); ``model``: see ``as_logits_fn``."""
    if options.is_slide:
        return slide_inference(model, im, options.crop_size, options.stride)
    return as_logits_fn(model)(im)


def aug_infer_logits(model, im, options):
    """Logits summed over ``options.scales`` and (``flip_horizontal``) mirrored passes.

    Args:
        model (paddle.nn.Layer | callable): segmentation model in eval mode, or a
            logits function (see ``as_logits_fn``).
        im (Tensor): [1, C_in, H, W].
        options (InferenceOptions): scales (official ADE20K MS: 0.5 .. 1.75), flip
            (the mirrored image's logits are mirrored back) and whole / sliding window.

    Returns:
        Tensor: [1, C, H, W] at ``im``'s size, the sum over all scale / flip passes.
    """
    h, w = im.shape[-2:]
    logits_fn = as_logits_fn(model)
    total = None
    for scale in options.scales:
        size = [int(h * scale + 0.5), int(w * scale + 0.5)]
        im_scaled = im if size == [h, w] else resize_align_corners(im, size)
        for flip in ([False, True] if options.flip_horizontal else [False]):
            x = paddle.flip(im_scaled, axis=[3]) if flip else im_scaled
            logit = infer_logits(logits_fn, x, options)
            if flip:
                logit = paddle.flip(logit, axis=[3])
            if list(logit.shape[-2:]) != [h, w]:
                logit = resize_align_corners(logit, [h, w])
            total = logit if total is None else total + logit
    return total


def predict_logits(model, im, trans_info=None, options=InferenceOptions()):
    """Logits at the original image size, the one entry point of evaluate and predict.

    Args:
        model (paddle.nn.Layer | callable): segmentation model in eval mode, or a
            logits function (see ``as_logits_fn``).
        im (Tensor): [1, C_in, H, W] transformed image.
        trans_info (list | None): the sample's transform records (see ``utils.trans_info``).
        options (InferenceOptions): whole / sliding window, multi-scale and flip
            (``options.aug``); the default is one whole-image pass.

    Returns:
        Tensor: [1, C, h0, w0].
    """
    with paddle.no_grad():
        if options.aug:
            logit = aug_infer_logits(model, im, options)
        else:
            logit = infer_logits(model, im, options)
        if trans_info:
            logit = reverse_transform(logit, trans_info, resize_align_corners)
    return logit
