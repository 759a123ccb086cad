"""Child process: run one benchmark case and write its result as JSON.

    python -m benchmarking.worker --spec '<json>' --out result.json   (from tools/)

The parent (``runner``) sets OMP_NUM_THREADS before this process starts, so the
thread count is in force before Paddle or numpy load their math libraries.
"""
import argparse
import json
import sys
import time
import traceback


class NotMeasured(Exception):
    """A case that cannot run here (e.g. no torch); its row says why."""


def run_case(spec):
    """Dispatch on ``spec['kind']``; returns the case's result dict."""
    kind = spec['kind']
    if 'shape' in spec['params']:  # a scaling row: its own input size and batch
        from .scaling import input_shape
        batch, height, width = input_shape(spec['params'], spec['scaling_unit'])
        spec = dict(spec, batch_size=batch, size=[height, width])
    if kind == 'torch':  # the official PyTorch code, under the torch environment: no Paddle
        try:
            import torch  # noqa: F401
        except ImportError as e:
            raise NotMeasured('torch is not importable by {} ({})'.format(sys.executable, e))
        from .torch_case import run_torch
        return run_torch(spec)
    if kind == 'gemm':  # numpy only: no Paddle in this process
        from .gemm import gemm_rate
        return gemm_rate(spec['gemm_size'], spec['warmup'], max(3, spec['repeats']))
    from .runtime import setup
    settings = setup(spec['device'], spec['threads'])
    if kind == 'eval':
        from .eval_case import run_eval as run
    elif kind == 'train':
        from .train_case import run_train as run
    elif kind == 'export':
        from .deploy_case import run_export as run
    elif kind == 'deploy':
        from .deploy_case import run_deploy as run
    elif kind == 'encoding':
        from .encoding_case import run_encoding as run
    elif kind == 'eval_export':
        from .eval_export_case import run_eval_export as run
    else:
        raise ValueError('unknown case kind {!r}'.format(kind))
    return dict(run(spec), settings=settings)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--spec', required=True, help='the case, as JSON')
    parser.add_argument('--out', required=True, help='where to write the result JSON')
    args = parser.parse_args(argv)
    spec = json.loads(args.spec)
    start = time.time()
    try:
        result = dict(run_case(spec), status='ok')
    except NotMeasured as e:
        result = {'status': 'not measured', 'error': 'not measured: {}'.format(e)}
    except Exception as e:  # the parent reports the failure in the case's row
        traceback.print_exc()
        result = {'status': 'error', 'error': '{}: {}'.format(type(e).__name__, e)}
    result['wall_s'] = time.time() - start
    with open(args.out, 'w') as f:
        json.dump(result, f)
    return 0 if result['status'] == 'ok' else 1


if __name__ == '__main__':
    sys.exit(main())
