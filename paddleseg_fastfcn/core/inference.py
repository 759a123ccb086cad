"""Whole-image, sliding-window, multi-scale and flipped inference (shared by evaluate and predict).

Follows the official FastFCN evaluation: the image is resized to each scale,
optionally flipped, run whole or by sliding windows whose logits are averaged
where windows overlap, and the logits of all scales and flips are summed at the
input size. PaddleSeg 2.8's ``core.infer`` does the same but resizes with
``F.interpolate`` (align_corners=False); here every bilinear resize is
``resize_align_corners``, as in the official code and in this project's models
(whose exported graphs must avoid oneDNN's bilinear kernel).
"""
import collections.abc
import os

import numpy as np
import paddle

from paddleseg_fastfcn.models.layers.resize import resize_align_corners
from paddleseg_fastfcn.utils.weights import load_weights


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


def slide_inference(model, im, crop_size, stride):
    """Logits of ``im`` from overlapping windows, averaged where they overlap.

    Args:
        model (paddle.nn.Layer): segmentation model in eval mode.
        im (Tensor): [1, C_in, H, W].
        crop_size (tuple): window ``(w, h)``; windows are clipped to the image.
        stride (tuple): step ``(w, h)``; must not exceed ``crop_size``.

    Returns:
        Tensor: [1, C, H, W] float32.
    """
    h_im, w_im = im.shape[-2:]
    w_crop, h_crop = crop_size
    w_stride, h_stride = stride
    if w_stride > w_crop or h_stride > h_crop or min(w_stride, h_stride) < 1:
        raise ValueError('stride {} must be positive and not exceed crop_size {}'.format(
            stride, crop_size))
    rows = 1 if h_im <= h_crop else int(np.ceil((h_im - h_crop) / h_stride)) + 1
    cols = 1 if w_im <= w_crop else int(np.ceil((w_im - w_crop) / w_stride)) + 1
    total, count = None, np.zeros([1, 1, h_im, w_im], np.float32)
    for r in range(rows):
        for c in range(cols):
            # The last window of a row / column is shifted back to end at the border.
            h2, w2 = min(r * h_stride + h_crop, h_im), min(c * w_stride + w_crop, w_im)
            h1, w1 = max(h2 - h_crop, 0), max(w2 - w_crop, 0)
            logit = forward_logits(model, im[:, :, h1:h2, w1:w2]).numpy()
            if total is None:
                total = np.zeros([1, logit.shape[1], h_im, w_im], np.float32)
            total[:, :, h1:h2, w1:w2] += logit
            count[:, :, h1:h2, w1:w2] += 1
    return paddle.to_tensor(total / count)


def infer_logits(model, im, is_slide=False, crop_size=None, stride=None):
    """Single-scale logits of ``im`` [1, C_in, H, W], whole image or sliding window."""
    if is_slide:
        if crop_size is None or stride is None:
            raise ValueError('sliding-window inference needs crop_size and stride')
        return slide_inference(model, im, crop_size, stride)
    return forward_logits(model, im)


def aug_infer_logits(model, im, scales=1.0, flip_horizontal=False, is_slide=False,
                     crop_size=None, stride=None):
    """Logits summed over scales and (optionally) horizontal flips, at ``im``'s size.

    Args:
        model (paddle.nn.Layer): segmentation model in eval mode.
        im (Tensor): [1, C_in, H, W].
        scales (float | list[float]): image scales (official ADE20K MS: 0.5 .. 1.75).
        flip_horizontal (bool): also run the mirrored image (its logits mirrored back).
        is_slide, crop_size, stride: see ``slide_inference``.

    Returns:
        Tensor: [1, C, H, W], the sum over all scale / flip passes.
    """
    scales = [scales] if isinstance(scales, (int, float)) else list(scales)
    h, w = im.shape[-2:]
    total = None
    for scale in scales:
        size = [int(h * scale + 0.5), int(w * scale + 0.5)]
        im_scaled = im if size == [h, w] else resize_align_corners(im, size)
        for flip in ([False, True] if flip_horizontal else [False]):
            x = paddle.flip(im_scaled, axis=[3]) if flip else im_scaled
            logit = infer_logits(model, x, is_slide, crop_size, stride)
            if flip:
                logit = paddle.flip(logit, axis=[3])
            if list(logit.shape[-2:]) != [h, w]:
                logit = resize_align_corners(logit, [h, w])
            total = logit if total is None else total + logit
    return total


def reverse_transform(logit, trans_info):
    """Undo the 'resize' and 'padding' records of PaddleSeg transforms on logits.

    Args:
        logit (Tensor): [N, C, H, W] at the transformed image's size.
        trans_info (list): ``data['trans_info']`` of a PaddleSeg sample:
            ``('resize' | 'padding', (h, w))`` in the order they were applied.

    Returns:
        Tensor: [N, C, h0, w0] at the original image size.
    """
    for mode, (h, w) in reversed([(item[0], item[1]) for item in trans_info]):
        h, w = int(h), int(w)
        if mode == 'resize':
            logit = resize_align_corners(logit, [h, w])
        elif mode == 'padding':
            logit = logit[:, :, :h, :w]
        else:
            raise ValueError('unexpected transform record {!r} in trans_info'.format(mode))
    return logit


def predict_logits(model, im, trans_info=None, aug=False, scales=1.0, flip_horizontal=False,
                   is_slide=False, crop_size=None, stride=None):
    """Logits at the original image size, the one entry point of evaluate and predict.

    Args:
        model (paddle.nn.Layer): segmentation model in eval mode.
        im (Tensor): [1, C_in, H, W] transformed image.
        trans_info (list | None): the sample's transform records (see ``reverse_transform``).
        aug (bool): multi-scale / flip inference with ``scales`` and ``flip_horizontal``.
        is_slide, crop_size, stride: sliding-window inference.

    Returns:
        Tensor: [1, C, h0, w0].
    """
    with paddle.no_grad():
        if aug:
            logit = aug_infer_logits(model, im, scales, flip_horizontal, is_slide, crop_size, stride)
        else:
            logit = infer_logits(model, im, is_slide, crop_size, stride)
        if trans_info:
            logit = reverse_transform(logit, trans_info)
    return logit


def add_inference_args(parser, aug_flag):
    """The inference options of val.py / predict.py (PaddleSeg's names).

    Options left out fall back to the config's ``test_config`` (see ``resolve_options``).
    """
    parser.add_argument(aug_flag, dest='aug', action='store_true', default=None,
                        help='multi-scale (--scales) and flip (--flip_horizontal) inference')
    parser.add_argument('--scales', nargs='+', type=float, default=None,
                        help='image scales for the augmented inference, e.g. 0.5 0.75 1.0 1.25 1.5 1.75')
    parser.add_argument('--flip_horizontal', action='store_true', default=None,
                        help='add horizontally flipped passes to the augmented inference')
    parser.add_argument('--is_slide', action='store_true', default=None,
                        help='sliding-window inference (--crop_size, --stride)')
    parser.add_argument('--crop_size', nargs=2, type=int, default=None, metavar=('W', 'H'),
                        help='sliding window size')
    parser.add_argument('--stride', nargs=2, type=int, default=None, metavar=('W', 'H'),
                        help='sliding window step')
    parser.add_argument('--device', choices=['cpu', 'gpu'], default='cpu',
                        help='where to run (PaddleSeg option; TIPC passes it)')


def resolve_options(test_config, aug=None, scales=None, flip_horizontal=None, is_slide=None,
                    crop_size=None, stride=None):
    """Inference options: command-line values (not None) over the config's ``test_config``.

    Args:
        test_config (dict): the config's ``test_config`` (keys ``aug_eval``, ``scales``,
            ``flip_horizontal``, ``is_slide``, ``crop_size``, ``stride``).

    Returns:
        dict: ``aug, scales, flip_horizontal, is_slide, crop_size, stride`` for
        ``predict_logits``.

    Raises:
        ValueError: sliding window without ``crop_size`` / ``stride``.
    """
    cfg = dict(test_config or {})

    def pick(cli, key, default):
        return cli if cli is not None else cfg.get(key, default)

    options = {
        'aug': bool(pick(aug, 'aug_eval', False)),
        'scales': pick(scales, 'scales', 1.0),
        'flip_horizontal': bool(pick(flip_horizontal, 'flip_horizontal', False)),
        'is_slide': bool(pick(is_slide, 'is_slide', False)),
        'crop_size': pick(crop_size, 'crop_size', None),
        'stride': pick(stride, 'stride', None),
    }
    if options['is_slide'] and (options['crop_size'] is None or options['stride'] is None):
        raise ValueError('sliding-window inference needs --crop_size W H and --stride W H '
                         '(or test_config.crop_size / test_config.stride)')
    return options
