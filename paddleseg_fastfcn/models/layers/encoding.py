"""The Encoding layer of EncNet (Zhang et al., CVPR 2018) written as matrix products.

The official layer (and PaddleSeg 2.8's port) forms the residuals ``x_i - c_k`` as a
``B x N x K x D`` tensor, twice: once for the scaled distances and once for the
aggregation. At 512x512 input (N = 64*64 at stride 8, K = 32, D = 512) that is
268 M floats per image, and on CPU it dominates the head's run time. Both steps are
bilinear in ``x`` and ``c``, so they expand into products of ``B x N x D`` and
``K x D`` matrices:

    ||x_i - c_k||^2 = ||x_i||^2 - 2 x_i . c_k + ||c_k||^2
    E_k = sum_i a_ik (x_i - c_k) = (A^T X)_k - (sum_i a_ik) c_k

The largest intermediate is then ``B x N x K``.
"""
import paddle
import paddle.nn as nn
import paddle.nn.functional as F


class EncodingLayer(nn.Layer):
    """Learnable residual encoder over K codewords.

    Args:
        channels (int): feature dimension D (input channels).
        num_codes (int): number of codewords K.

    Attributes:
        codewords (Parameter): ``[K, D]``, init U(-1/sqrt(K*D), 1/sqrt(K*D)) as the
            official code.
        scale (Parameter): ``[K]`` smoothing factors, init U(-1, 0).

    Shapes:
        x: [B, D, H, W] -> E: [B, K, D], with
        ``E[b, k] = sum_i softmax_k(scale_k * ||x_i - c_k||^2) (x_i - c_k)``
        over the N = H*W positions i.
    """

    def __init__(self, channels, num_codes):
        super().__init__()
        self.channels, self.num_codes = channels, num_codes
        bound = 1.0 / (channels * num_codes) ** 0.5
        self.codewords = self.create_parameter(
            shape=[num_codes, channels],
            default_initializer=nn.initializer.Uniform(-bound, bound))
        self.scale = self.create_parameter(
            shape=[num_codes], default_initializer=nn.initializer.Uniform(-1.0, 0.0))

    def forward(self, x):
        if x.ndim != 4:
            raise ValueError('EncodingLayer expects x of shape [B, D, H, W], got {} dims'.format(x.ndim))
        if x.shape[1] not in (-1, None) and x.shape[1] != self.channels:
            raise ValueError('EncodingLayer expects {} input channels, got {}'.format(
                self.channels, x.shape[1]))
        batch = paddle.shape(x)[0]
        # The 3-D reshape also moves a oneDNN conv output out of its blocked layout
        # before the matmuls (see layers/resize.py).
        feats = x.reshape([batch, self.channels, -1]).transpose([0, 2, 1])  # [B, N, D]
        codewords = self.codewords
        sq_feats = (feats * feats).sum(axis=2, keepdim=True)                # [B, N, 1]
        sq_codes = (codewords * codewords).sum(axis=1)                      # [K]
        cross = paddle.matmul(feats, codewords, transpose_y=True)           # [B, N, K]
        # Exact distances are >= 0; the expanded form can dip below by rounding.
        # Clamping at 0 moves a value only by that rounding error.
        sq_dist = F.relu(sq_feats - 2.0 * cross + sq_codes)
        assign = F.softmax(sq_dist * self.scale, axis=2)                    # [B, N, K]
        weighted = paddle.matmul(assign, feats, transpose_x=True)           # [B, K, D]
        mass = assign.sum(axis=1).unsqueeze(2)                              # [B, K, 1]
        return weighted - mass * codewords

    def extra_repr(self):
        return 'channels={}, num_codes={}'.format(self.channels, self.num_codes)
