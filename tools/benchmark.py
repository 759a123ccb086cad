"""Speed benchmark: FastFCN (JPU) vs the dilated baseline, PaddleSeg 2.8 and the hardware.

    python tools/benchmark.py                        # full run: 1x3x512x512, 150 classes
    python tools/benchmark.py --quick                # 64x64, one repeat: checks that every row runs
    python tools/benchmark.py --cases enc_jpu_r50 enc_os8_r50 --repeats 5 --json out.json

Every case runs in its own child process (its own peak memory and thread
settings) with OMP_NUM_THREADS / Paddle math threads / ONNX Runtime intra-op
threads all set to --threads (default: every core). Prints a markdown report;
--json writes the full results. Implementation: tools/benchmarking/; the targets the
comparisons are read against: docs/benchmark.md.
"""
import argparse
import os
import sys

from benchmarking.cases import all_cases  # tools/benchmarking/, found next to this script
from benchmarking.runner import run
from benchmarking.scaling import FULL_UNIT, QUICK_UNIT
from paddleseg_fastfcn.utils.cli import existing_dir, non_negative_int, positive_float, positive_int
from paddleseg_fastfcn.utils.cpu_tuning import keeps_system_malloc

FULL = {'size': [512, 512], 'repeats': 3, 'warmup': 1, 'train_size': [480, 480], 'gemm_size': 2048,
        'scaling_unit': FULL_UNIT}
QUICK = {'size': [64, 64], 'repeats': 1, 'warmup': 1, 'train_size': [64, 64], 'gemm_size': 256,
         'scaling_unit': QUICK_UNIT}


def hw(values, option):
    """``[S]`` or ``[H, W]`` -> ``[H, W]``; sizes must be multiples of 32 (stride-32 backbones)."""
    if len(values) == 1:
        values = values * 2
    if len(values) != 2 or min(values) < 32 or any(v % 32 for v in values):
        raise SystemExit('{}: give S or H W, multiples of 32 and >= 32; got {}'.format(option, values))
    return list(values)


def parse_args(argv=None):
    names = [c.name for c in all_cases()]
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog='cases: ' + ', '.join(names))
    p.add_argument('--quick', action='store_true',
                   help='tiny input ({0}x{0}), {1} repeat, small GEMM: a smoke test, not a measurement'.format(
                       QUICK['size'][0], QUICK['repeats']))
    p.add_argument('--size', type=positive_int, nargs='+', help='input S or H W (default 512, --quick 64)')
    p.add_argument('--batch_size', type=positive_int, default=1, help='eval / deploy / Encoding batch (default 1)')
    p.add_argument('--num_classes', type=positive_int, default=150)
    p.add_argument('--warmup', type=non_negative_int, help='untimed runs per case (default 1)')
    p.add_argument('--repeats', type=positive_int, help='timed runs per case; the median is reported (default 3)')
    p.add_argument('--train_size', type=positive_int, nargs='+', help='training-step crop S or H W (default 480)')
    p.add_argument('--train_batch', type=positive_int, default=2)
    p.add_argument('--gemm_size', type=positive_int, help='n of the n^3 numpy GEMM (default 2048)')
    p.add_argument('--threads', type=positive_int, default=os.cpu_count(), help='CPU threads (default: all cores)')
    p.add_argument('--device', choices=['cpu', 'gpu'], default='cpu')
    p.add_argument('--cases', nargs='+', metavar='CASE', help='run only these rows (see the list below)')
    p.add_argument('--config_dir', default=None, type=existing_dir, help="this project's configs (default: the repo's configs/)")
    p.add_argument('--env', nargs='+', default=[], metavar='KEY=VALUE',
                   help='extra environment variables for every case (stated in the report), '
                        'e.g. MKL_DEBUG_CPU_TYPE=5')
    p.add_argument('--json', default=None, help='write the results here (rewritten after every case)')
    p.add_argument('--markdown', default=None, help='also write the markdown report here (rewritten after every case)')
    p.add_argument('--workdir', default=None, help='keep exports, per-case logs and results here')
    p.add_argument('--official_repo', default=None,
                   help='a checkout of github.com/wuhuikai/FastFCN: time the official PyTorch models as a peer')
    p.add_argument('--torch_python', default=sys.executable,
                   help='python of an environment with torch, for the peer rows (default: this one)')
    p.add_argument('--timeout', type=positive_float, default=None, help='seconds allowed per case')
    args = p.parse_args(argv)
    defaults = QUICK if args.quick else FULL
    for key in ('size', 'repeats', 'warmup', 'train_size', 'gemm_size'):
        if getattr(args, key) is None:
            setattr(args, key, defaults[key])
    args.size = hw(args.size, '--size')
    args.train_size = hw(args.train_size, '--train_size')
    if any('=' not in item for item in args.env):
        raise SystemExit('--env takes KEY=VALUE items, got {}'.format(args.env))
    args.env = dict(item.split('=', 1) for item in args.env)
    return args


def main(argv=None):
    args = parse_args(argv)
    settings = {key: getattr(args, key) for key in (
        'size', 'batch_size', 'num_classes', 'warmup', 'repeats', 'train_size', 'train_batch',
        'gemm_size', 'threads', 'device', 'config_dir', 'env', 'official_repo', 'torch_python')}
    settings['quick'] = args.quick
    settings['scaling_unit'] = (QUICK if args.quick else FULL)['scaling_unit']
    # Set by `import paddleseg_fastfcn` on AMD CPUs (utils/cpu_tuning.py); every case inherits it.
    settings['mkl_debug_cpu_type'] = args.env.get('MKL_DEBUG_CPU_TYPE', os.environ.get('MKL_DEBUG_CPU_TYPE'))
    # set_device('cpu') in every case process applies utils/cpu_tuning.reuse_freed_memory
    # unless PADDLESEG_FASTFCN_MALLOC says otherwise.
    settings['malloc'] = 'system' if keeps_system_malloc(dict(os.environ, **args.env)) else 'reuse'
    settings['command'] = ' '.join(['python', 'tools/benchmark.py'] + list(sys.argv[1:] if argv is None else argv))
    try:
        doc = run(settings, args.cases, args.json, args.workdir, args.timeout, markdown_path=args.markdown)
    except ValueError as e:  # unknown case names
        raise SystemExit(str(e))
    print(doc['markdown'])
    failed = [name for name, r in doc['cases'].items() if r.get('status') not in ('ok', 'not measured')]
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
