"""Time the align_corners logits resize alone: this project's form against F.interpolate.

    python tools/profile_resize.py                                  # 150 ch, 64x64 -> 512x512 and 128x256 -> 1024x2048
    python tools/profile_resize.py --shapes 1x19x128x256:1024x2048 --repeats 5

Per shape, the median of --repeats calls (after one warm-up) of: ``F.interpolate(...,
align_corners=True)`` (the reference), the former two-product form ``R_h @ x @ R_w^T``,
``models/layers/resize.resize_align_corners`` (width product on the source rows, then
banded row products) and one elementwise pass over a tensor of the output's size
(``y = x * 1``: writing the output once, the memory-speed floor). Prints each time, its
speed-up over F.interpolate and the largest difference from it.
"""
import argparse
import os
import sys

from benchmarking.machine import cpu_line  # tools/, next to this script
from benchmarking.threads import pin_threads
from benchmarking.timing import time_repeats


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--shapes', nargs='+', default=['1x150x64x64:512x512', '1x150x128x256:1024x2048'],
                   help='NxCxHxW:HoutxWout per case')
    p.add_argument('--repeats', type=int, default=3)
    p.add_argument('--threads', type=int, default=os.cpu_count())
    args = p.parse_args(argv)
    shapes = []
    for text in args.shapes:
        try:
            src, dst = text.lower().split(':')
            shapes.append(([int(v) for v in src.split('x')], [int(v) for v in dst.split('x')]))
        except ValueError:
            raise SystemExit('--shapes: give NxCxHxW:HoutxWout, got {}'.format(text))
        if len(shapes[-1][0]) != 4 or len(shapes[-1][1]) != 2:
            raise SystemExit('--shapes: give NxCxHxW:HoutxWout, got {}'.format(text))
    args.shapes = shapes
    return args


def median_seconds(fn, repeats):
    """The benchmark's timing (one warm-up, median of ``repeats``) and the last result."""
    last = {}

    def run():
        last['out'] = fn()

    return time_repeats(run, 1, repeats)['median_s'], last['out']


def main(argv=None):
    args = parse_args(argv)
    pin_threads(args.threads)  # before numpy and Paddle load their thread pools
    import numpy as np
    import paddle
    import paddle.nn.functional as F
    from benchmarking.runtime import setup  # tools/, next to this script
    from paddleseg_fastfcn.models.layers.resize import interpolation_matrix, resize_align_corners

    setup('cpu', args.threads)  # the benchmark's thread and allocator settings
    print(cpu_line())
    print('{} thread(s), median of {} call(s) after one warm-up'.format(args.threads, args.repeats))
    for (n, c, h, w), (ho, wo) in args.shapes:
        x = paddle.to_tensor(np.random.default_rng(0).normal(size=(n, c, h, w)).astype('float32'))
        big = paddle.zeros([n, c, ho, wo])
        mat_h = interpolation_matrix(ho, h)
        mat_w_t = interpolation_matrix(wo, w, transposed=True)
        forms = [
            ('F.interpolate', lambda: F.interpolate(x, (ho, wo), mode='bilinear', align_corners=True)),
            ('two products R_h @ x @ R_w^T (former form)',
             lambda: paddle.matmul(paddle.matmul(mat_h, x.reshape([-1, h, w])), mat_w_t).reshape([n, c, ho, wo])),
            ('resize_align_corners (width product + banded rows)', lambda: resize_align_corners(x, (ho, wo))),
            ('one elementwise pass at output size (y = x * 1)', lambda: big * 1.0),
        ]
        print('\n({}, {}, {}, {}) -> ({}, {}):'.format(n, c, h, w, ho, wo))
        reference = None
        base = None
        for name, fn in forms:
            seconds, out = median_seconds(fn, args.repeats)
            if reference is None:
                reference, base = out.numpy(), seconds
                diff = ''
            elif name.startswith('one elementwise'):
                diff = ''
            else:
                diff = '  max |diff| vs F.interpolate {:.1e}'.format(float(np.abs(out.numpy() - reference).max()))
            print('  {:<52s} {:9.1f} ms  ({:.1f}x vs F.interpolate){}'.format(
                name, seconds * 1e3, base / seconds, diff))
            del out
    return 0


if __name__ == '__main__':
    sys.exit(main())
