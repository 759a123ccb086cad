"""Speed and peak memory: our EncodingLayer vs PaddleSeg 2.8's ``Encoding``.

    python tools/bench_encoding.py [--batch 2 --channels 512 --codes 32 --size 64 64]
                                   [--threads N] [--repeats 10] [--json out.json] [--quick]

Both layers get the same codewords, scales and input. Each (layer, mode) pair runs
in its own subprocess so that memory figures do not mix:

- peak memory: the process' peak resident set size (VmHWM) during the FIRST call,
  minus its resident size just before that call (after imports, layer and input
  creation). The peak counter is reset through /proc/self/clear_refs (Linux), so
  import-time peaks do not count. Paddle has no allocator statistics on CPU;
  this measures what the call really asks from the OS (including one-off
  first-call costs of a few MB, which dominate only at --quick sizes).
- time: median wall time over ``--repeats`` calls after ``--warmup`` calls.
Modes: ``forward`` (under no_grad, as in inference) and ``forward_backward``
(input and parameters require gradients; backward of sum(E * upstream)).
Threads: OMP_NUM_THREADS is set explicitly for the workers (default: all cores).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VARIANTS = ('ours', 'paddleseg')
MODES = ('forward', 'forward_backward')


def _status_kb(field):
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise RuntimeError('{} not in /proc/self/status'.format(field))


def _reset_peak_rss():
    """Reset VmHWM to the current RSS; False where the kernel does not allow it."""
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


def run_worker(args):
    """Measure one (variant, mode) in this process; print one JSON line."""
    sys.path.insert(0, ROOT)
    import numpy as np
    import paddle
    from paddleseg.models.fastfcn import Encoding as PaddleSegEncoding
    from paddleseg_fastfcn.models.layers import EncodingLayer

    paddle.set_device('cpu')
    paddle.seed(0)
    b, d, k, (h, w) = args.batch, args.channels, args.codes, args.size
    reference = EncodingLayer(d, k)
    if args.variant == 'ours':
        layer = reference
    else:
        layer = PaddleSegEncoding(channels=d, num_codes=k)
        layer.codewords.set_value(reference.codewords.numpy())
        layer.scale.set_value(reference.scale.numpy())
    rng = np.random.default_rng(0)
    x = paddle.to_tensor(np.maximum(rng.normal(size=(b, d, h, w)), 0).astype('float32'))
    upstream = paddle.to_tensor(rng.normal(size=(b, k, d)).astype('float32'))
    backward = args.mode == 'forward_backward'
    x.stop_gradient = not backward

    def call():
        if backward:
            out = layer(x)
            (out * upstream).sum().backward()
            layer.clear_gradients()
            x.clear_gradient()
        else:
            with paddle.no_grad():
                out = layer(x)
        return float(out.sum())  # forces completion

    baseline_kb = _status_kb('VmRSS')
    exact_peak = _reset_peak_rss()
    checksum = call()
    peak_kb = _status_kb('VmHWM') - baseline_kb
    for _ in range(args.warmup):
        call()
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    print(json.dumps({
        'variant': args.variant, 'mode': args.mode,
        'median_ms': 1e3 * statistics.median(times), 'min_ms': 1e3 * min(times),
        'peak_mb': peak_kb / 1024.0, 'peak_exact': exact_peak, 'checksum': checksum,
    }))


def run_all(args):
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), GLOG_minloglevel='3')
    results = []
    for mode in MODES:
        for variant in VARIANTS:
            cmd = [sys.executable, os.path.abspath(__file__), '--worker', variant, mode,
                   '--batch', str(args.batch), '--channels', str(args.channels),
                   '--codes', str(args.codes), '--size', str(args.size[0]), str(args.size[1]),
                   '--repeats', str(args.repeats), '--warmup', str(args.warmup)]
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if proc.returncode != 0:
                raise SystemExit('worker {} {} failed:\n{}'.format(variant, mode, proc.stderr[-3000:]))
            results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    ratios = {}
    for mode in MODES:
        ours, theirs = [next(r for r in results if r['variant'] == v and r['mode'] == mode)
                        for v in VARIANTS]
        ratios[mode] = {
            'speedup': theirs['median_ms'] / ours['median_ms'],
            'memory_ratio': theirs['peak_mb'] / max(ours['peak_mb'], 1e-3),
        }
    return results, ratios


def format_report(settings, results, ratios):
    lines = [
        'Encoding layer: B={batch}, D={channels}, K={codes}, feature {h}x{w}; OMP_NUM_THREADS={threads}; '
        'median of {repeats} calls after {warmup} warm-up calls; peak = RSS high-water mark of the first '
        'call above the RSS before it, one subprocess per row'.format(**settings),
        '',
        '| layer | mode | median ms | min ms | peak MB |',
        '|---|---|---:|---:|---:|',
    ]
    for r in results:
        lines.append('| {} | {} | {:.1f} | {:.1f} | {:.1f} |'.format(
            r['variant'], r['mode'], r['median_ms'], r['min_ms'], r['peak_mb']))
    lines += ['', '| mode | PaddleSeg / ours time | PaddleSeg / ours peak memory |', '|---|---:|---:|']
    for mode, ratio in ratios.items():
        lines.append('| {} | {:.2f}x | {:.2f}x |'.format(mode, ratio['speedup'], ratio['memory_ratio']))
    return '\n'.join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--channels', type=int, default=512)
    parser.add_argument('--codes', type=int, default=32)
    parser.add_argument('--size', type=int, nargs=2, default=[64, 64], metavar=('H', 'W'))
    parser.add_argument('--threads', type=int, default=os.cpu_count(),
                        help='OMP_NUM_THREADS of the workers (default: all cores)')
    parser.add_argument('--repeats', type=int, default=10)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--json', default=None, help='write settings, rows and ratios here')
    parser.add_argument('--quick', action='store_true',
                        help='tiny sizes and few repeats (smoke test of the tool)')
    parser.add_argument('--worker', nargs=2, metavar=('VARIANT', 'MODE'), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.batch, args.channels, args.codes, args.size = 1, 16, 4, [8, 8]
        args.repeats, args.warmup = 3, 1
    if args.worker:
        args.variant, args.mode = args.worker
        if args.variant not in VARIANTS or args.mode not in MODES:
            parser.error('--worker takes one of {} and one of {}'.format(VARIANTS, MODES))
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        run_worker(args)
        return None
    results, ratios = run_all(args)
    settings = dict(batch=args.batch, channels=args.channels, codes=args.codes,
                    h=args.size[0], w=args.size[1], threads=args.threads,
                    repeats=args.repeats, warmup=args.warmup)
    print(format_report(settings, results, ratios))
    if args.json:
        with open(args.json, 'w', encoding='utf-8') as f:
            json.dump({'settings': settings, 'results': results, 'ratios': ratios}, f, indent=2)
    return results, ratios


if __name__ == '__main__':
    main()
