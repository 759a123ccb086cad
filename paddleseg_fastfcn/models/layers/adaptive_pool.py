"""Adaptive average pooling written as two matrix products.

Why not ``F.adaptive_avg_pool2d``: paddle2onnx 2.1.0 cannot convert it to bins > 1
when H and W are dynamic, and with a fixed input size it converts it WRONGLY
(measured: max diff 0.875 for 3x3 / 6x6 bins over an 8x8 map). Average pooling
over the bins of one axis is a linear map, so ``out = P_h @ x @ P_w^T`` is exact,
exports with dynamic shapes and runs under oneDNN (the width matrix is built
transposed: see resize.py for the ``transpose_y`` trap).
"""
import paddle


def pooling_matrix(out_size, in_size, dtype='float32', transposed=False):
    """Averaging weights of one axis, with PyTorch's / Paddle's adaptive bins.

    Bin ``i`` covers ``[floor(i * in / out), ceil((i + 1) * in / out))``.

    Args:
        out_size (int): number of bins.
        in_size (int | Tensor): length of the pooled axis.
        dtype (str): dtype of the returned matrix.
        transposed (bool): return ``[in_size, out_size]`` instead.

    Returns:
        Tensor: ``[out_size, in_size]`` (rows sum to 1), or its transpose.
    """
    rows = paddle.arange(out_size, dtype='int64').unsqueeze(1)
    cols = paddle.arange(in_size, dtype='int64').unsqueeze(0)
    bins = paddle.full([1], out_size, 'int64')
    in_len = paddle.cast(in_size, 'int64') if isinstance(in_size, paddle.Tensor) else in_size
    start = paddle.floor_divide(rows * in_len, bins)
    end = paddle.floor_divide((rows + 1) * in_len + (out_size - 1), bins)
    mat = paddle.logical_and(cols >= start, cols < end).astype(dtype) / (end - start).astype(dtype)
    return mat.transpose([1, 0]) if transposed else mat


def adaptive_avg_pool(x, bins):
    """Adaptive average pooling of ``x`` to ``bins x bins``.

    Args:
        x (Tensor): [N, C, H, W].
        bins (int): output size of both spatial axes.

    Returns:
        Tensor: [N, C, bins, bins], equal to ``F.adaptive_avg_pool2d(x, bins)``
        up to float rounding.
    """
    shape = paddle.shape(x)
    # A reshape to 3-D in front of the matmul: oneDNN conv outputs are blocked.
    y = paddle.matmul(pooling_matrix(bins, shape[2], x.dtype), x.reshape([-1, shape[2], shape[3]]))
    y = paddle.matmul(y, pooling_matrix(bins, shape[3], x.dtype, transposed=True))
    return y.reshape([shape[0], shape[1], bins, bins])
