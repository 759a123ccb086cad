"""mIoU and speed of val.py (dygraph) next to the exported model under every backend.

    OMP_NUM_THREADS=2 python tools/eval_export_speed.py \
        --config configs/mini/encnet_jpu_r50_mini_64x64_600.yml \
        [--model_path output/mini/best_model/model.pdparams] --work_dir output/eval_export \
        [--opts val_dataset.dataset_root=data/mini_ade20k] [--is_slide --crop_size 48 48 --stride 32 32]

Exports ``--model_path`` once with ``--output_op none`` (and ONNX), evaluates it with
``core.evaluate`` (val.py's dygraph path) and with ``deploy.evaluate`` under Paddle
Inference (oneDNN off / on) and ONNX Runtime, each once, on the same data, protocol
and thread count (OMP_NUM_THREADS, also the predictors' threads), and prints one row
per backend: mIoU, images/s (the whole loop: reading, inference, metrics), speed vs
dygraph and whether the areas equal dygraph's (``benchmarking.eval_export_case.measure``,
also the benchmark's ``eval_export`` case). Without ``--model_path`` the config's initial weights are saved
and used (speed is the same; the mIoU is then that of an untrained model).
"""
import argparse
import os
import sys

TOOLS_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(TOOLS_DIR))
sys.path.insert(0, TOOLS_DIR)

from benchmarking.eval_export_case import format_rows, measure  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--config', required=True)
    p.add_argument('--model_path', default=None)
    p.add_argument('--work_dir', default='output/eval_export')
    p.add_argument('--opts', nargs='+', default=None)
    args, protocol_args = p.parse_known_args(argv)
    threads = int(os.environ.get('OMP_NUM_THREADS', '1'))
    rows = measure(args.config, args.model_path, args.work_dir, threads, args.opts, protocol_args)
    num_images = int(round(rows[0]['images_per_s'] * rows[0]['seconds']))
    print(format_rows(rows, num_images, threads))
    return 0


if __name__ == '__main__':
    sys.exit(main())
