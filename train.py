"""Train a segmentation model from a PaddleSeg-schema YAML config.

    python train.py --config configs/xxx.yml --save_dir output --do_eval --use_vdl
    python -m paddle.distributed.launch --devices 0,1,2,3 train.py --config ... --device gpu
    python -m paddle.distributed.launch --nproc_per_node 2 train.py --config ... --device cpu

Under the launcher batch_size is per card; see docs/distributed.md.
"""
import argparse
import signal
import sys

from paddleseg_fastfcn.utils.cli import (existing_dir, existing_file, non_negative_int, or_keyword,
                                         output_dir, positive_float, positive_int)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--config', required=True, type=existing_file, help='YAML config file')
    p.add_argument('--save_dir', default='output', type=output_dir, help='checkpoints, train.log, VisualDL')
    p.add_argument('--iters', type=positive_int, default=None, help='overrides the config\'s iters')
    p.add_argument('--batch_size', type=positive_int, default=None,
                   help='per card; overrides the config\'s batch_size')
    p.add_argument('--learning_rate', type=positive_float, default=None,
                   help='overrides lr_scheduler.learning_rate')
    p.add_argument('--do_eval', action='store_true',
                   help='evaluate at every checkpoint and keep best_model/ by mIoU')
    p.add_argument('--save_interval', type=positive_int, default=1000, help='iterations between checkpoints')
    p.add_argument('--log_iters', type=positive_int, default=10, help='iterations between log lines')
    p.add_argument('--keep_checkpoint_max', type=int, default=5,
                   help='newest iter_N dirs kept (<= 0: all)')
    p.add_argument('--resume_model', default=None, type=or_keyword('auto', existing_dir),
                   help='an iter_N checkpoint dir to continue from, or "auto": the newest '
                        'complete one in save_dir (a fresh start when there is none)')
    p.add_argument('--use_vdl', action='store_true', help='write VisualDL scalars to save_dir/vdl')
    p.add_argument('--num_workers', type=non_negative_int, default=0, help='data loader worker processes')
    p.add_argument('--seed', type=non_negative_int, default=None, help='python/numpy/paddle and data-order seed')
    p.add_argument('--device', default='cpu', choices=['cpu', 'gpu'])
    p.add_argument('--precision', default='fp32', choices=['fp32', 'fp16', 'bf16'])
    p.add_argument('--amp_level', default='O1', choices=['O1', 'O2'])
    p.add_argument('--opts', nargs='+', default=None, metavar='KEY=VALUE',
                   help='config overrides, e.g. --opts model.num_classes=21 batch_size=4')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from paddleseg_fastfcn.core.run_lock import SaveDirLocked
    from paddleseg_fastfcn.core.stop_signals import StopNow, TrainingStopped, exit_status
    from paddleseg_fastfcn.core.train import train
    from paddleseg_fastfcn.utils.atomic_write import DiskWriteError
    try:
        train(**vars(args))
    except (TrainingStopped, StopNow) as e:
        # SIGTERM / SIGINT: the shell's status (143 / 130) and how to resume.
        print(str(e), file=sys.stderr)
        return exit_status(e.signum)
    except KeyboardInterrupt:  # before the loop (building, reading the data), or under the launcher
        print('interrupted by SIGINT; the checkpoints written before are complete', file=sys.stderr)
        return exit_status(signal.SIGINT)
    except SaveDirLocked as e:
        print('error: {}: {}'.format(type(e).__name__, e), file=sys.stderr)
        return 1
    except DiskWriteError as e:
        # A full disk or read-only save_dir: what, how much space, which checkpoint is intact.
        print('error: {}'.format(e), file=sys.stderr)
        return 1
    except (ValueError, FileNotFoundError, FloatingPointError) as e:
        # Configuration and data errors: the message says what to fix; no traceback.
        print('error: {}: {}'.format(type(e).__name__, e), file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
