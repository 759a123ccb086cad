"""``deploy/python/infer.py``: segment images with an exported model.

Arguments follow PaddleSeg's ``deploy/python/infer.py`` (so TIPC drives it
unchanged), plus ``--backend paddle|onnxruntime``.
"""
import argparse
import os
import sys

from paddleseg_fastfcn.deploy.images import group_by_size, preprocess
from paddleseg_fastfcn.deploy.paddle_predictor import DeployArgumentError, default_trt_shapes
from paddleseg_fastfcn.deploy.postprocess import save_pseudo_color, to_label_map
from paddleseg_fastfcn.deploy.stage_timer import StageTimer, auto_log_report
from paddleseg_fastfcn.utils.atomic_write import DiskWriteError
from paddleseg_fastfcn.utils.batch_failures import BatchFailures
from paddleseg_fastfcn.utils.cli import str2bool
from paddleseg_fastfcn.utils.cpu_tuning import reuse_freed_memory
from paddleseg_fastfcn.utils.deploy_yaml import DeployConfig, DeployConfigError
from paddleseg_fastfcn.utils.device import INFERENCE_PRECISIONS
from paddleseg_fastfcn.utils.image_io import ImageReadError, collect_images
from paddleseg_fastfcn.utils.trans_info import resize_nearest, reverse_transform


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Segment images with an exported paddleseg-fastfcn model.')
    p.add_argument('--config', required=True, help='deploy.yaml written by export.py')
    p.add_argument('--image_path', required=True, help='an image, a folder, or a list file (.txt / .list) of images')
    p.add_argument('--batch_size', type=int, default=1)
    p.add_argument('--save_dir', default='./output')
    p.add_argument('--device', choices=['cpu', 'gpu'], default='cpu')
    p.add_argument('--backend', choices=['paddle', 'onnxruntime'], default='paddle')
    p.add_argument('--onnx_file', default=None,
                   help='ONNX model for --backend onnxruntime (default: Deploy.onnx_model of --config)')
    p.add_argument('--use_trt', type=str2bool, default=False)
    p.add_argument('--precision', choices=INFERENCE_PRECISIONS, default='fp32')
    p.add_argument('--min_subgraph_size', type=int, default=3, help='TensorRT: smallest op group')
    p.add_argument('--enable_auto_tune', type=str2bool, default=False,
                   help='TensorRT: take the dynamic shape range from the input images')
    p.add_argument('--cpu_threads', type=int, default=os.cpu_count() or 1)
    p.add_argument('--enable_mkldnn', type=str2bool, default=False, help='oneDNN kernels on CPU')
    p.add_argument('--benchmark', type=str2bool, default=False)
    p.add_argument('--model_name', default='fastfcn', help='name in the benchmark report')
    p.add_argument('--with_argmax', type=str2bool, default=False,
                   help='accepted for PaddleSeg compatibility: float outputs are always argmax-ed to save masks')
    p.add_argument('--print_detail', type=str2bool, default=True)
    p.add_argument('--save_log_path', default=None, help='accepted for TIPC compatibility')
    args = p.parse_args(argv)
    if args.batch_size < 1:
        p.error('--batch_size must be >= 1')
    return args


def build_predictor(args, deploy_cfg, trt_shapes=None):
    """The backend's predictor for ``args``; raises a clear error on bad options."""
    deploy_cfg.check_files(args.backend)
    if args.backend == 'onnxruntime':
        from paddleseg_fastfcn.deploy.onnx_predictor import OnnxPredictor
        return OnnxPredictor(deploy_cfg.onnx_file, device=args.device, cpu_threads=args.cpu_threads,
                             use_trt=args.use_trt, precision=args.precision)
    from paddleseg_fastfcn.deploy.paddle_predictor import PaddlePredictor
    return PaddlePredictor(deploy_cfg.model_file, deploy_cfg.params_file, device=args.device,
                           enable_mkldnn=args.enable_mkldnn, cpu_threads=args.cpu_threads,
                           use_trt=args.use_trt, precision=args.precision,
                           min_subgraph_size=args.min_subgraph_size, trt_shapes=trt_shapes,
                           trt_dir=os.path.join(args.save_dir, 'trt_' + args.precision))


def tuned_trt_shapes(images, transforms, batch_size):
    """TensorRT ``(min, opt, max)`` input shapes from the preprocessed ``images`` (an ``ImageSet``).

    Unreadable images are left out here; the run reports them with its other failures.
    """
    sizes = []
    for p, o in zip(images.paths, images.origins):
        try:
            sizes.append(preprocess(p, transforms, o)[0].shape[1:])
        except ImageReadError:
            continue
    if not sizes:
        return default_trt_shapes(batch_size)
    hs, ws = [s[0] for s in sizes], [s[1] for s in sizes]
    mid = sorted(sizes)[len(sizes) // 2]
    return ([1, 3, min(hs), min(ws)], [batch_size, 3, mid[0], mid[1]], [batch_size, 3, max(hs), max(ws)])


def run(args):
    """Segment every image of ``args.image_path``; returns the written mask files.

    Raises:
        BatchFailures: after every other image was segmented and written, naming each
            image that could not be read and why (``utils.batch_failures``).
        DiskWriteError: the disk refused a mask (no space, read-only): the run stops.
    """
    deploy_cfg = DeployConfig(args.config)
    if args.onnx_file:
        deploy_cfg.onnx_file = args.onnx_file
    images = collect_images(args.image_path)
    trt_shapes = None
    if args.use_trt:
        trt_shapes = (tuned_trt_shapes(images, deploy_cfg.transforms, args.batch_size) if args.enable_auto_tune
                      else default_trt_shapes(args.batch_size))
    if args.device == 'cpu':
        # Paddle Inference's CPU tensors are malloc'ed per run: on reused host memory
        # EncNet+JPU R50 at 512x512 with oneDNN goes 1.18 -> 0.75 s (utils/cpu_tuning.py;
        # ONNX Runtime has its own arena and is unaffected).
        reuse_freed_memory()
    predictor = build_predictor(args, deploy_cfg, trt_shapes)
    image_root = args.image_path if os.path.isdir(args.image_path) else None
    timer = StageTimer()
    written, failures = [], []
    count = len(images.paths)
    for start in range(0, count, args.batch_size):
        paths, prepared = [], []
        with timer.stage('preprocess'):
            for path, origin in zip(images.paths[start:start + args.batch_size],
                                    images.origins[start:start + args.batch_size]):
                try:
                    prepared.append(preprocess(path, deploy_cfg.transforms, origin))
                    paths.append(path)
                except ValueError as e:  # ImageReadError, or a transform refusing the image
                    failures.append((path, str(e)))
        outputs = [None] * len(paths)
        with timer.stage('inference'):
            for indices, batch in group_by_size([(i, img) for i, (img, _, _) in enumerate(prepared)]):
                result = predictor.run(batch)
                for j, i in enumerate(indices):
                    outputs[i] = result[j]
        with timer.stage('postprocess'):
            for path, output, (_, trans_info, _) in zip(paths, outputs, prepared):
                label = reverse_transform(to_label_map(output, deploy_cfg.output_op), trans_info, resize_nearest)
                written.append(save_pseudo_color(label, path, image_root, args.save_dir))
        timer.images += len(paths)
        if args.print_detail:
            print('[{}/{}] {}'.format(min(start + args.batch_size, count), count,
                                      ', '.join(os.path.basename(p) for p in paths)))
    if args.benchmark:
        settings = {'backend': args.backend, 'device': args.device, 'enable_mkldnn': args.enable_mkldnn,
                    'cpu_threads': args.cpu_threads, 'batch_size': args.batch_size,
                    'precision': args.precision, 'use_trt': args.use_trt}
        print(timer.format(args.model_name, settings))
        auto_log_report(timer, args.model_name, settings)
    print('saved {} masks to {}'.format(len(written), args.save_dir))
    if failures:
        raise BatchFailures(failures, written)
    return written


def main(argv=None):
    """Parse ``argv`` and run; returns the written masks (errors are raised)."""
    return run(parse_args(argv))


def cli(argv=None):
    """deploy/python/infer.py: ``main`` with errors as a message and exit code 1 (no traceback)."""
    try:
        main(argv)
    except (BatchFailures, DeployConfigError, DeployArgumentError, ImageReadError, DiskWriteError) as e:
        print('error: {}'.format(e), file=sys.stderr)
        return 1
    return 0
