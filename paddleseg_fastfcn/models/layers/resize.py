"""Bilinear resize (``align_corners`` True or False) written as two matrix products.

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

``align_corners=False`` (half-pixel centres, Paddle's default ``align_mode=0``)
has the same trap under oneDNN on 3.3.1 (``bilinear_interp`` refuses to run), and
PaddleSeg's Fast-SCNN resizes that way; ``resize_bilinear`` covers both modes with
the same matrices, only the source positions differ.
"""
import paddle
import paddle.nn.functional as F


def interpolation_matrix(out_size, in_size, dtype='float32', transposed=False, align_corners=True):
    """Linear interpolation weights of one axis.

    Args:
        out_size (int | Tensor): length of the resized axis.
        in_size (int | Tensor): length of the source axis.
        dtype (str): dtype of the returned matrix.
        transposed (bool): return ``[in_size, out_size]`` instead.
        align_corners (bool): True maps the corner samples onto each other;
            False uses half-pixel centres, ``src = (i + 0.5) * in / out - 0.5``
            clamped to ``[0, in - 1]`` (Paddle's ``align_mode=0``), which also
            covers downsampling (two taps, no antialiasing).

    Returns:
        Tensor: ``[out_size, in_size]``; row ``i`` holds the weights that mix the
        source samples into output sample ``i`` (the transpose if ``transposed``).
    """
    dst = paddle.arange(out_size, dtype=dtype)
    src_grid = paddle.arange(in_size, dtype=dtype)
    in_f = paddle.cast(in_size, dtype) if isinstance(in_size, paddle.Tensor) else float(in_size)
    out_f = paddle.cast(out_size, dtype) if isinstance(out_size, paddle.Tensor) else float(out_size)
    if align_corners:
        # A one-pixel output samples the first source pixel, as PyTorch and Paddle do.
        ratio = (in_f - 1.0) / paddle.maximum(paddle.to_tensor(out_f - 1.0, dtype=dtype),
                                              paddle.to_tensor(1.0, dtype=dtype))
        src = dst * ratio
    else:
        # Paddle's kernel uses ratio 0 for a one-pixel output (it samples the first
        # source pixel, where PyTorch samples the centre).
        wide = paddle.cast(out_f > 1.0, dtype) if isinstance(out_f, paddle.Tensor) else float(out_f > 1)
        src = F.relu((dst + 0.5) * (in_f / out_f * wide) - 0.5)
        # Past the last sample Paddle repeats it; relu keeps this free of shape-dependent clip bounds.
        src = (in_f - 1.0) - F.relu((in_f - 1.0) - src)
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
    return resize_bilinear(x, size, align_corners=True)


def resize_bilinear(x, size, align_corners):
    """Bilinear resize of ``x`` to ``size`` in either ``align_corners`` mode.

    Args:
        x (Tensor): ``[N, C, H, W]`` floating-point input.
        size (list | tuple | Tensor): target ``(H_out, W_out)``, as in
            ``resize_align_corners``.
        align_corners (bool): as ``F.interpolate``'s (``align_mode=0``).

    Returns:
        Tensor: ``[N, C, H_out, W_out]``, equal to ``F.interpolate(x, size,
        mode='bilinear', align_corners=align_corners)`` up to float rounding.
    """
    in_shape = paddle.shape(x)
    out_h, out_w = size[0], size[1]
    mat_h = interpolation_matrix(out_h, in_shape[2], x.dtype, align_corners=align_corners)
    mat_w_t = interpolation_matrix(out_w, in_shape[3], x.dtype, transposed=True,
                                   align_corners=align_corners)
    # [Ho, H] @ [N*C, H, W] -> [N*C, Ho, W]; then [N*C, Ho, W] @ [W, Wo].
    y = paddle.matmul(mat_h, x.reshape([-1, in_shape[2], in_shape[3]]))
    y = paddle.matmul(y, mat_w_t)
    return y.reshape([in_shape[0], in_shape[1], out_h, out_w])
