"""Page faults, time, RSS and glibc heap of repeated dygraph forwards, with and without reuse of freed memory.

    python tools/profile_freed_memory.py                       # EncNet+JPU R50, 1x3x512x512, 8 forwards
    python tools/profile_freed_memory.py --model conv_bn --size 128x128 --forwards 12

Runs the same forwards in two processes: one with the allocator setting ``set_device('cpu')``
applies (``paddleseg_fastfcn.utils.cpu_tuning.reuse_freed_memory``), one with
``PADDLESEG_FASTFCN_MALLOC=system`` (glibc's defaults). Prints, per forward, the minor page
faults, the wall time, the RSS after it and the size of glibc's heap (``mallinfo2``), under
a header naming the CPU and its instruction sets. ``conv_bn`` is a 3x3 conv 64->64 + eval
BatchNorm on a 64-channel input (its im2col buffer: 576 x H x W floats); any other ``--model``
is a key of tools/benchmarking/cases.py (random weights).
"""
import argparse
import json
import os
import subprocess
import sys

from benchmarking.threads import pin_threads  # tools/, next to this script

# Each run's PADDLESEG_FASTFCN_MALLOC (utils/cpu_tuning.py): unset applies the reuse.
SETTINGS = (('reuse', None), ('system', 'system'))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--model', default='enc_jpu_r50', help="'conv_bn' or a model key of tools/benchmarking/cases.py")
    p.add_argument('--size', default='512x512', help='HxW of the input')
    p.add_argument('--forwards', type=int, default=8)
    p.add_argument('--threads', type=int, default=os.cpu_count())
    p.add_argument('--num_classes', type=int, default=150)
    p.add_argument('--child', action='store_true', help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    try:
        args.size = [int(v) for v in args.size.lower().split('x')]
    except ValueError:
        p.error('--size: give HxW, e.g. 512x512')
    if len(args.size) != 2 or min(args.size) < 1 or args.forwards < 1:
        p.error('--size: give two positive sizes HxW; --forwards: at least 1')
    return args


def measure(args):
    """The forwards in this process; the allocator setting is the environment's.

    Returns:
        dict: ``malloc`` (the setting in force) and ``rows``, one per forward: ``faults``,
        ``ms``, ``rss_mb``, ``heap_mb`` (None off glibc).
    """
    import resource
    import time

    import paddle
    from benchmarking.memory import current_rss_mb
    from benchmarking.runtime import image_batch, setup
    from paddleseg_fastfcn.utils.cpu_tuning import heap_info, malloc_setting

    settings = setup('cpu', args.threads)
    height, width = args.size
    if args.model == 'conv_bn':
        conv, bn = paddle.nn.Conv2D(64, 64, 3, padding=1), paddle.nn.BatchNorm2D(64)
        model, x = paddle.nn.Sequential(conv, bn), paddle.ones([1, 64, height, width])
    else:
        from benchmarking.model_zoo import build_benchmark_model
        model, _ = build_benchmark_model(args.model, args.num_classes)
        x = paddle.to_tensor(image_batch(1, height, width))
    model.eval()
    rows = []
    for _ in range(args.forwards):
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        start = time.perf_counter()
        with paddle.no_grad():
            out = model(x)
            float((out[0] if isinstance(out, (list, tuple)) else out).sum())
        del out
        heap = heap_info()
        rows.append({'faults': resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults,
                     'ms': 1e3 * (time.perf_counter() - start), 'rss_mb': current_rss_mb(),
                     'heap_mb': None if heap is None else heap['heap_bytes'] / 2.0 ** 20})
    return {'malloc': settings['malloc'], 'rows': rows}


def render(runs):
    """A markdown table: per forward, faults / ms / RSS / heap of each setting."""
    names = [name for name, _ in SETTINGS]
    lines = ['| forward | ' + ' | '.join('{0} faults | {0} ms | {0} RSS MiB | {0} heap MiB'.format(n)
                                        for n in names) + ' |', '|---|' + '---|---|---|---|' * len(names)]
    for i in range(len(runs[names[0]]['rows'])):
        cells = []
        for name in names:
            row = runs[name]['rows'][i]
            heap = '-' if row['heap_mb'] is None else '{:.0f}'.format(row['heap_mb'])
            cells += ['{:d}'.format(row['faults']), '{:.0f}'.format(row['ms']), '{:.0f}'.format(row['rss_mb']), heap]
        lines.append('| {} | {} |'.format(i + 1, ' | '.join(cells)))
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    pin_threads(args.threads)  # before numpy and Paddle load their thread pools
    if args.child:
        print(json.dumps(measure(args)))
        return 0
    from benchmarking.machine import cpu_line
    runs = {}
    for name, value in SETTINGS:
        child = [sys.executable, os.path.abspath(__file__), '--child', '--model', args.model,
                 '--size', 'x'.join(str(s) for s in args.size), '--forwards', str(args.forwards),
                 '--threads', str(args.threads), '--num_classes', str(args.num_classes)]
        env = {k: v for k, v in os.environ.items() if k != 'PADDLESEG_FASTFCN_MALLOC'}
        if value is not None:
            env['PADDLESEG_FASTFCN_MALLOC'] = value
        result = subprocess.run(child, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            raise SystemExit('{} run failed:\n{}'.format(name, result.stderr[-2000:]))
        runs[name] = json.loads(result.stdout.strip().splitlines()[-1])
    print(cpu_line())
    print('{} at 1x{}x{}, dygraph eval, {} thread(s), {} forwards in one process per setting; allocator: '
          'reuse = {}, system = {}\n'.format(args.model, *args.size, args.threads, args.forwards,
                                            runs['reuse']['malloc'], runs['system']['malloc']))
    print(render(runs))
    return 0


if __name__ == '__main__':
    sys.exit(main())
