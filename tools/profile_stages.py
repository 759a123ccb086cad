"""Per-stage dygraph time of this project's models at two (or more) input sizes.

    python tools/profile_stages.py                                   # EncNet+JPU R50, 1x512x512 vs 1x1024x2048
    python tools/profile_stages.py --model enc_os8_r50 --sizes 512x512 1024x1024 --repeats 3

Prints, per stage (stem, backbone stages, JPU, head conv, Encoding module, rest of the
head, logits resize), ms and ms per megapixel at each size, and how much the cost per
megapixel grows. Threads: --threads for Paddle's math library and OpenMP (set before
Paddle loads). Implementation: tools/benchmarking/stages.py.
"""
import argparse
import os
import sys

from benchmarking.machine import cpu_line  # tools/, next to this script
from benchmarking.threads import pin_threads


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--model', default='enc_jpu_r50', help='a model key of tools/benchmarking/cases.py OWN_MODELS')
    p.add_argument('--sizes', nargs='+', default=['512x512', '1024x2048'], help='HxW or BxHxW per size')
    p.add_argument('--num_classes', type=int, default=150)
    p.add_argument('--repeats', type=int, default=3)
    p.add_argument('--threads', type=int, default=os.cpu_count())
    p.add_argument('--config_dir', default=None)
    args = p.parse_args(argv)
    sizes = []
    for text in args.sizes:
        parts = [int(v) for v in text.lower().split('x')]
        if len(parts) == 2:
            parts = [1] + parts
        if len(parts) != 3 or min(parts) < 1 or parts[1] % 32 or parts[2] % 32:
            raise SystemExit('--sizes: give HxW or BxHxW with H, W multiples of 32; got {}'.format(text))
        sizes.append(tuple(parts))
    args.sizes = sizes
    return args


def main(argv=None):
    args = parse_args(argv)
    pin_threads(args.threads)  # before numpy and Paddle load their thread pools
    import paddle
    from benchmarking.model_zoo import build_benchmark_model
    from benchmarking.runtime import image_batch, setup
    from benchmarking.stages import profile_stages, render

    setup('cpu', args.threads)
    model, source = build_benchmark_model(args.model, args.num_classes, args.config_dir)
    model.eval()
    tables = [profile_stages(model, paddle.to_tensor(image_batch(*size)), args.repeats) for size in args.sizes]
    print(cpu_line())
    print('{} ({}), dygraph, {} thread(s), median of {} forward(s)\n'.format(
        args.model, source, args.threads, args.repeats))
    print(render(tables, args.sizes))
    return 0


if __name__ == '__main__':
    sys.exit(main())
