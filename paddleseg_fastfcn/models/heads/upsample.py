"""Upsampling of pooled maps back to the feature size, safe under oneDNN."""
import paddle

from paddleseg_fastfcn.models.layers import resize_bilinear


def upsample_pooled(x, size, align_corners=True):
    """Bilinear upsampling of a pooled map to ``size``.

    A 1x1 map is broadcast with ``expand``, which is what bilinear resizing of a
    single pixel gives. Why not ``resize_align_corners`` for it too: in Paddle
    Inference 3.3.1 with oneDNN its matmuls return garbage (values ~1e36 / NaN)
    when the source axis has length 1 (measured here; tests/models/test_to_static.py
    guards it).

    Args:
        x (Tensor): [N, C, h, w]; h, w known when the graph is built for the
            1x1 case (adaptive pooling to a fixed bin size gives that).
        size (list | Tensor): target (H, W), ints or 0-D tensors.
        align_corners (bool): as ``F.interpolate``'s (a 1x1 map gives the same
            result either way).

    Returns:
        Tensor: [N, C, H, W]
    """
    if x.shape[2] == 1 and x.shape[3] == 1:
        return paddle.expand(x, [x.shape[0], x.shape[1], size[0], size[1]])
    return resize_bilinear(x, size, align_corners)
