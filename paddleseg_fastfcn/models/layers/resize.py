"""Bilinear resize (``align_corners`` True or False) as matrix products and row gathers.

Why not ``F.interpolate``: on Paddle 3.x the oneDNN kernel of ``bilinear_interp``
with ``align_corners=True`` is silently wrong (3.0-3.2) or refuses to run (3.3.1)
inside Paddle Inference, and the official FastFCN resizes exactly that way (JPU,
PSP pooling branches, final logits). Linear interpolation is a linear map per
axis, reproduced exactly by: the width as one matrix product on the source rows
(``[N*C, H, W] @ R_w^T``), then the rows with two taps each. The row step is
linear in the output size: in dygraph as banded block products (each block of
output rows from a window of a few source rows), in static graphs as two row
gathers and a lerp (shape-agnostic ops, so the export keeps dynamic height and
width). Measured on Paddle 3.3.1 (2 threads), 150 x 128 x 256 -> 1024 x 2048:
``F.interpolate`` 4-6 s under load, the former ``R_h @ x @ R_w^T`` (80 GMACs in its
second product) about as slow, this form 5-6x faster than ``F.interpolate``. The
interpolation weights come from ``arange`` with the "hat" kernel
``max(0, 1 - |src - j|)``.

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
the same code, only the source positions differ.
"""
import numpy as np
import paddle
import paddle.nn.functional as F


def source_positions(out_size, in_size, dtype='float32', align_corners=True):
    """Where each output sample of one axis reads the source axis.

    Args:
        out_size (int | Tensor): length of the resized axis.
        in_size (int | Tensor): length of the source axis.
        dtype (str): dtype of the returned positions.
        align_corners (bool): True maps the corner samples onto each other;
            False uses half-pixel centres, ``src = (i + 0.5) * in / out - 0.5``
            clamped to ``[0, in - 1]`` (Paddle's ``align_mode=0``), which also
            covers downsampling (two taps, no antialiasing).

    Returns:
        Tensor: ``[out_size]`` source coordinates in ``[0, in_size - 1]``.
    """
    dst = paddle.arange(out_size, dtype=dtype)
    in_f = paddle.cast(in_size, dtype) if isinstance(in_size, paddle.Tensor) else float(in_size)
    out_f = paddle.cast(out_size, dtype) if isinstance(out_size, paddle.Tensor) else float(out_size)
    if align_corners:
        # A one-pixel output samples the first source pixel, as PyTorch and Paddle do.
        ratio = (in_f - 1.0) / paddle.maximum(paddle.to_tensor(out_f - 1.0, dtype=dtype),
                                              paddle.to_tensor(1.0, dtype=dtype))
        return dst * ratio
    # Paddle's kernel uses ratio 0 for a one-pixel output (it samples the first
    # source pixel, where PyTorch samples the centre).
    wide = paddle.cast(out_f > 1.0, dtype) if isinstance(out_f, paddle.Tensor) else float(out_f > 1)
    src = F.relu((dst + 0.5) * (in_f / out_f * wide) - 0.5)
    # Past the last sample Paddle repeats it; relu keeps this free of shape-dependent clip bounds.
    return (in_f - 1.0) - F.relu((in_f - 1.0) - src)


def source_positions_np(out_size, in_size, align_corners=True):
    """``source_positions`` for sizes known as numbers, in numpy float32 (the same operations).

    Lets the banded row products build their constant weights in a static graph too,
    where a tensor cannot be read back.
    """
    dst = np.arange(out_size, dtype=np.float32)
    in_f, out_f = np.float32(in_size), np.float32(out_size)
    if align_corners:
        ratio = (in_f - np.float32(1.0)) / np.maximum(out_f - np.float32(1.0), np.float32(1.0))
        return dst * ratio
    wide = np.float32(out_f > 1)
    src = np.maximum((dst + np.float32(0.5)) * (in_f / out_f * wide) - np.float32(0.5), np.float32(0.0))
    last = in_f - np.float32(1.0)
    return last - np.maximum(last - src, np.float32(0.0))


def interpolation_matrix(out_size, in_size, dtype='float32', transposed=False, align_corners=True):
    """Linear interpolation weights of one axis.

    Args:
        out_size (int | Tensor): length of the resized axis.
        in_size (int | Tensor): length of the source axis.
        dtype (str): dtype of the returned matrix.
        transposed (bool): return ``[in_size, out_size]`` instead.
        align_corners (bool): as in ``source_positions``.

    Returns:
        Tensor: ``[out_size, in_size]``; row ``i`` holds the weights that mix the
        source samples into output sample ``i`` (the transpose if ``transposed``).
    """
    src = source_positions(out_size, in_size, dtype, align_corners)
    src_grid = paddle.arange(in_size, dtype=dtype)
    if transposed:
        return F.relu(1.0 - paddle.abs(src_grid.unsqueeze(1) - src.unsqueeze(0)))
    return F.relu(1.0 - paddle.abs(src.unsqueeze(1) - src_grid.unsqueeze(0)))


def interpolate_rows(x, out_rows, align_corners):
    """Linear interpolation along axis 1 of ``x`` by gathering rows: two taps per output row.

    ``out = x[i0] + w * (x[i0 + 1] - x[i0])`` with the row difference taken at the
    source size, so the output-size work is two row gathers, one multiply and one add:
    linear in the output size. The weights broadcast as ``[H_out, 1]`` (trailing
    dimensions): on Paddle 3.3.1's CPU a ``[1, 1, H_out, 1]`` operand takes a
    broadcast path more than 10x slower than this one.

    Args:
        x (Tensor): ``[B, H, W]``.
        out_rows (int | Tensor): ``H_out``.
        align_corners (bool): as in ``source_positions``.

    Returns:
        Tensor: ``[B, H_out, W]``.
    """
    in_rows = paddle.shape(x)[1]
    src = source_positions(out_rows, in_rows, x.dtype, align_corners)
    first = paddle.floor(src)
    weight = (src - first).unsqueeze(1)
    first = paddle.cast(first, 'int64')
    # The last row's successor is itself, so its difference is 0 and every index stays in range.
    last = paddle.cast(in_rows, 'int64') - 1
    following = paddle.minimum(paddle.arange(in_rows, dtype='int64') + 1, last)
    step = paddle.gather(x, following, axis=1) - x
    return paddle.gather(x, first, axis=1) + paddle.gather(step, first, axis=1) * weight


# Output rows per block of the banded row interpolation: the first of these that
# divides H_out (so the blocks tile the output exactly, with no copy to crop it).
ROW_BLOCKS = (16, 12, 20, 24, 10, 32, 8, 40, 48, 64, 6, 4)


def interpolate_rows_banded(x, out_rows, align_corners):
    """``interpolate_rows`` as one batched matrix product per block of output rows.

    Output rows ``[b*g, (b+1)*g)`` read a window of ``m`` consecutive source rows
    (``m`` = the window's span + 2, 3-6 when upsampling), so ``out = R_b @ window_b``
    with ``R_b`` of shape ``[g, m]``: ``m`` multiply-adds and one write per output
    value, where the gather form writes the output four times (two gathers, a
    multiply and an add; measured 3x slower at 150x128x2048 -> 1024 rows). Needs the
    sizes as numbers, i.e. dygraph.

    Args:
        x (Tensor): ``[B, H, W]``.
        out_rows (int): ``H_out``.
        align_corners (bool): as in ``source_positions``.

    Returns:
        Tensor | None: ``[B, H_out, W]``; None if no block size in ``ROW_BLOCKS``
        divides ``H_out`` (the caller then uses ``interpolate_rows``).
    """
    batch, in_rows, width = x.shape
    block = next((g for g in ROW_BLOCKS if out_rows % g == 0), None)
    if block is None or in_rows <= 0 or width <= 0:
        return None
    # float32 positions, as Paddle's kernel computes them, so the weights are its weights.
    src = source_positions_np(out_rows, in_rows, align_corners).astype('float64')
    blocks = src.reshape(-1, block)
    start = np.floor(blocks[:, 0]).astype('int64')
    span = int(np.max(np.floor(blocks[:, -1]).astype('int64') + 2 - start))
    span = min(span, in_rows)
    start = np.minimum(start, in_rows - span)
    rows = start[:, None] + np.arange(span)[None, :]  # [G, m] source rows of each block
    weights = np.maximum(0.0, 1.0 - np.abs(blocks[:, :, None] - rows[:, None, :]))  # [G, g, m]
    window = paddle.gather(x, paddle.to_tensor(rows.reshape(-1)), axis=1)
    window = window.reshape([batch, len(rows), span, width])
    out = paddle.matmul(paddle.to_tensor(weights, dtype=x.dtype), window)
    return out.reshape([batch, out_rows, width])


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
    # Each size as a number where it is one (dygraph, fixed-shape graphs), else a tensor.
    dynamic = paddle.shape(x)
    in_shape = [d if d > 0 else dynamic[i] for i, d in enumerate(x.shape)]
    out_h, out_w = size[0], size[1]
    # Width first, on the source rows: [N*C, H, W] @ [W, Wo] costs N*C*H*W*Wo, a factor
    # H_out / H below the same product on the output rows. Then the rows, linear in the
    # output size: banded block products where the sizes are numbers (dygraph), row
    # gathers in a static graph (export keeps dynamic shapes). Both are the same map.
    mat_w_t = interpolation_matrix(out_w, in_shape[3], x.dtype, transposed=True,
                                   align_corners=align_corners)
    y = paddle.matmul(x.reshape([-1, in_shape[2], in_shape[3]]), mat_w_t)
    rows = None
    # Numbers are ints; tensors are paddle.Tensor in dygraph and graph values in static mode.
    static_rows = isinstance(out_h, (int, np.integer)) and isinstance(in_shape[2], (int, np.integer))
    if paddle.in_dynamic_mode() or static_rows:
        # Sizes known as numbers: always in dygraph, and in a static graph whose input
        # shape is fixed (the segmentors pass static sizes where the input has them).
        rows = interpolate_rows_banded(y, int(out_h), align_corners)
    y = interpolate_rows(y, out_h, align_corners) if rows is None else rows
    return y.reshape([in_shape[0], in_shape[1], out_h, out_w])
