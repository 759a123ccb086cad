"""Bilinear resize with ``align_corners=True`` written as two matrix products.

Why not ``F.interpolate``: on Paddle 3.x the oneDNN kernel of ``bilinear_interp``
with ``align_corners=True`` is silently wrong (3.0-3.2) or refuses to run (3.3.1)
inside Paddle Inference, and the official FastFCN resizes exactly that way (JPU,
PSP pooling branches, final logits). Linear interpolation is a linear map per
axis, so ``out = R_h @ x @ R_w^T`` reproduces it exactly; matmul is both exact
under oneDNN and one of its fastest kernels. The interpolation matrices are built
from ``arange`` with the "hat" kernel ``max(0, 1 - |src - j|)``, which needs only
shape-agnostic ops and therefore exports with dynamic height and width.

A second oneDNN trap (measured on Paddle 3.3.1): a 4-D ``matmul`` whose input
comes straight from a oneDNN conv reads the conv's blocked memory layout as if it
were NCHW and returns garbage. A ``reshape`` to 3-D in front of the matmul makes
Paddle reorder the tensor to plain layout, which is why the products below run on
``[N*C, H, W]``. A third one (same version): ``matmul(..., transpose_y=True)`` with
an inner dimension of 1 returns garbage under oneDNN, so the width matrix is built
already transposed instead of transposed by the matmul.
"""
import paddle
import paddle.nn.functional as F


def interpolation_matrix(out_size, in_size, dtype='float32', transposed=False):
    """Linear interpolation weights of one axis, align_corners=True.

    Args:
        out_size (int | Tensor): length of the resized axis.
        in_size (int | Tensor): length of the source axis.
        dtype (str): dtype of the returned matrix.
        transposed (bool): return ``[in_size, out_size]`` instead.

    Returns:
        Tensor: ``[out_size, in_size]``; row ``i`` holds the weights that mix the
        source samples into output sample ``i`` (the transpose if ``transposed``).
    """
    dst = paddle.arange(out_size, dtype=dtype)
    src_grid = paddle.arange(in_size, dtype=dtype)
    in_f = paddle.cast(in_size, dtype) if isinstance(in_size, paddle.Tensor) else float(in_size)
    out_f = paddle.cast(out_size, dtype) if isinstance(out_size, paddle.Tensor) else float(out_size)
    # A one-pixel output samples the first source pixel, as PyTorch and Paddle do.
    ratio = (in_f - 1.0) / paddle.maximum(paddle.to_tensor(out_f - 1.0, dtype=dtype),
                                          paddle.to_tensor(1.0, dtype=dtype))
    src = dst * ratio
    if transposed:
        return F.relu(1.0 - paddle.abs(src_grid.unsqueeze(1) - src.unsqueeze(0)))
    return F.relu(1.0 - paddle.abs(src.unsqueeze(1) - src_grid.unsqueeze(0)))


def resize_align_corners(x, size):
    """Bilinear resize of ``x`` to ``size`` with align_corners=True.

    Args:
        x (Tensor): ``[N, C, H, W]`` floating-point input.
        size (list | tuple | Tensor): target ``(H_out, W_out)``; ints or 0-D /
            1-element tensors (e.g. ``paddle.shape(img)[2:]``) for dynamic shapes.

    Returns:
        Tensor: ``[N, C, H_out, W_out]``, equal to
        ``F.interpolate(x, size, mode='bilinear', align_corners=True)`` up to
        float rounding.
    """
    in_shape = paddle.shape(x)
    out_h, out_w = size[0], size[1]
    mat_h = interpolation_matrix(out_h, in_shape[2], x.dtype)
    mat_w_t = interpolation_matrix(out_w, in_shape[3], x.dtype, transposed=True)
    # [Ho, H] @ [N*C, H, W] -> [N*C, Ho, W]; then [N*C, Ho, W] @ [W, Wo].
    y = paddle.matmul(mat_h, x.reshape([-1, in_shape[2], in_shape[3]]))
    y = paddle.matmul(y, mat_w_t)
    return y.reshape([in_shape[0], in_shape[1], out_h, out_w])
