"""``deploy/python/infer.py``: segment images with an exported model.

Arguments follow PaddleSeg's ``deploy/python/infer.py`` (so TIPC drives it
unchanged), plus ``--backend paddle|onnxruntime``.
"""
import argparse
import os
import sys

import numpy as np
import paddle

from paddleseg_fastfcn.core.inference import infer_logits
from paddleseg_fastfcn.core.inference_options import InferenceOptions
from paddleseg_fastfcn.deploy.exported_logits import ExportedLogits, check_input_shape, pad_batch, require_scores
from paddleseg_fastfcn.deploy.images import group_by_size, preprocess
from paddleseg_fastfcn.deploy.paddle_predictor import default_trt_shapes
from paddleseg_fastfcn.deploy.postprocess import (original_size_scores, save_pseudo_color, save_scores,
                                                   to_label_map)
from paddleseg_fastfcn.deploy.stage_timer import StageTimer, auto_log_report
from paddleseg_fastfcn.utils.atomic_write import DiskWriteError
from paddleseg_fastfcn.utils.batch_failures import BatchFailures
from paddleseg_fastfcn.utils.cli import existing_file, existing_path, output_dir, positive_int, str2bool
from paddleseg_fastfcn.utils.cpu_tuning import reuse_freed_memory
from paddleseg_fastfcn.utils.deploy_yaml import DeployConfig
from paddleseg_fastfcn.utils.device import INFERENCE_PRECISIONS
from paddleseg_fastfcn.utils.image_io import collect_images
from paddleseg_fastfcn.utils.output_names import OutputNameError, plan_outputs
from paddleseg_fastfcn.utils.trans_info import resize_nearest, reverse_transform


def add_predictor_args(p):
    """The backend / runtime flags of ``build_predictor`` (infer.py and eval.py; not ``--device``)."""
    p.add_argument('--backend', choices=['paddle', 'onnxruntime'], default='paddle')
    p.add_argument('--onnx_file', default=None, type=existing_file,
                   help='ONNX model for --backend onnxruntime (default: Deploy.onnx_model of --config)')
    p.add_argument('--use_trt', type=str2bool, default=False)
    p.add_argument('--precision', choices=INFERENCE_PRECISIONS, default='fp32')
    p.add_argument('--min_subgraph_size', type=positive_int, default=3, help='TensorRT: smallest op group')
    p.add_argument('--enable_auto_tune', type=str2bool, default=False,
                   help='TensorRT: take the dynamic shape range from the input images')
    p.add_argument('--cpu_threads', type=positive_int, default=os.cpu_count() or 1)
    p.add_argument('--enable_mkldnn', type=str2bool, default=False, help='oneDNN kernels on CPU')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Segment images with an exported paddleseg-fastfcn model.')
    p.add_argument('--config', required=True, type=existing_file, help='deploy.yaml written by export.py')
    p.add_argument('--image_path', required=True, type=existing_path,
                   help='an image, a folder, or a list file (.txt / .list) of images')
    p.add_argument('--batch_size', type=positive_int, default=1)
    p.add_argument('--save_dir', default='./output', type=output_dir)
    p.add_argument('--device', choices=['cpu', 'gpu'], default='cpu')
    add_predictor_args(p)
    p.add_argument('--benchmark', type=str2bool, default=False)
    p.add_argument('--model_name', default='fastfcn', help='name in the benchmark report')
    p.add_argument('--with_argmax', type=str2bool, default=False,
                   help='accepted for PaddleSeg compatibility: float outputs are always argmax-ed to save masks')
    p.add_argument('--print_detail', type=str2bool, default=True)
    p.add_argument('--save_log_path', default=None, help='accepted for TIPC compatibility')
    p.add_argument('--save_npy', choices=['logits', 'probs'], default=None,
                   help='also save per-pixel logits or class probabilities [C, H, W] at the original '
                        'image size as <name>.npy (needs an --output_op none / softmax export)')
    p.add_argument('--npy_float16', action='store_true', help='save the .npy scores as float16')
    p.add_argument('--is_slide', action='store_true',
                   help='sliding-window inference (--crop_size, --stride), as val.py / predict.py')
    p.add_argument('--crop_size', nargs=2, type=positive_int, default=None, metavar=('W', 'H'),
                   help='sliding window size')
    p.add_argument('--stride', nargs=2, type=positive_int, default=None, metavar=('W', 'H'),
                   help='sliding window step')
    return p.parse_args(argv)


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
        except ValueError:  # ImageReadError, LimitExceeded
            continue
    if not sizes:
        return default_trt_shapes(batch_size)
    hs, ws = [s[0] for s in sizes], [s[1] for s in sizes]
    mid = sorted(sizes)[len(sizes) // 2]
    return ([1, 3, min(hs), min(ws)], [batch_size, 3, mid[0], mid[1]], [batch_size, 3, max(hs), max(ws)])


def score_options(args, deploy_cfg):
    """The sliding-window options of ``args``; refuses what the export cannot give.

    Raises:
        ArgmaxExportError: ``--is_slide`` / ``--save_npy`` on an argmax export.
        ValueError: ``--save_npy logits`` on a softmax export, bad window sizes.
    """
    options = InferenceOptions(is_slide=args.is_slide, crop_size=args.crop_size, stride=args.stride)
    if args.is_slide:
        require_scores(deploy_cfg, '--is_slide')
    if args.save_npy:
        require_scores(deploy_cfg, '--save_npy')
    if args.save_npy == 'logits' and deploy_cfg.output_op == 'softmax':
        raise ValueError('--save_npy logits: {} exports probabilities (`output_op: softmax`); use '
                         '--save_npy probs or re-export with --output_op none'.format(deploy_cfg.path))
    return options


def model_input_shape(img, options):
    """``[1, C, H, W]`` the model is given for the preprocessed ``img`` ``[C, H, W]``: the
    image, or with ``options.is_slide`` its windows (clipped to the image)."""
    c, h, w = img.shape
    if options.is_slide:
        h, w = min(h, options.crop_size[1]), min(w, options.crop_size[0])
    return (1, c, h, w)


def run_images(predictor, logits_fn, images, options, fixed_batch=-1):
    """Model outputs of preprocessed ``images`` (``[3, H, W]`` each), one per image.

    Whole images of one size run as one batch (of exactly ``fixed_batch`` images for an
    export with a fixed batch size, the last one padded); sliding windows
    (``options.is_slide``) run image by image through ``core.inference``, the code of
    dygraph's windows.
    """
    if options.is_slide:
        return [infer_logits(logits_fn, paddle.to_tensor(img[np.newaxis]), options).numpy()[0]
                for img in images]
    outputs = [None] * len(images)
    for indices, batch in group_by_size(list(enumerate(images))):
        step = fixed_batch if fixed_batch > 0 else len(indices)
        for start in range(0, len(indices), step):
            result = predictor.run(pad_batch(batch[start:start + step], fixed_batch))
            for j, i in enumerate(indices[start:start + step]):
                outputs[i] = result[j]
    return outputs


def _save_outputs(args, deploy_cfg, output, trans_info, name):
    """Write one image's mask (and ``--save_npy`` scores) as ``save_dir/<name>``; returns the mask file.

    With ``--save_npy`` the scores are brought to the original size first and the
    mask is their argmax, so mask and ``.npy`` agree pixel for pixel.
    """
    if args.save_npy:
        scores = original_size_scores(output, trans_info, args.save_npy == 'probs', deploy_cfg.output_op)
        save_scores(scores, name, args.save_dir, args.npy_float16)
        label = np.argmax(scores, axis=0)
    else:
        label = reverse_transform(to_label_map(output, deploy_cfg.output_op), trans_info, resize_nearest)
    return save_pseudo_color(label, name, args.save_dir)


def run(args):
    """Segment every image of ``args.image_path``; returns the written mask files.

    Outputs are ``save_dir/<name>.png`` (and ``.npy``), ``<name>`` the image's path
    relative to the folder (for a list, the deepest folder holding its images;
    ``utils.output_names.plan_outputs``), written atomically (complete or absent).

    Raises:
        BatchFailures: after every other image was segmented and written, naming each
            image that could not be read or was refused and why (``utils.batch_failures``).
        DiskWriteError: the disk refused a mask or ``.npy`` (no space, read-only): the run stops.
    """
    deploy_cfg = DeployConfig(args.config)
    if args.onnx_file:
        deploy_cfg.onnx_file = args.onnx_file
    options = score_options(args, deploy_cfg)
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
    logits_fn = (ExportedLogits(predictor, deploy_cfg.output_op, input_shape=deploy_cfg.input_shape)
                 if options.is_slide else None)
    plan = plan_outputs(images.paths, images.base, images.origins)
    timer = StageTimer()
    written, failures = [], list(plan.failures)
    count = len(plan.items)
    for start in range(0, count, args.batch_size):
        paths, names, prepared = [], [], []
        with timer.stage('preprocess'):
            for path, origin, name in plan.items[start:start + args.batch_size]:
                try:
                    item = preprocess(path, deploy_cfg.transforms, origin)
                    # A fixed-shape export refuses this image only; the batch goes on.
                    check_input_shape(deploy_cfg.input_shape, model_input_shape(item[0], options),
                                      'a sliding window of this image is' if options.is_slide
                                      else 'this image gives')
                    prepared.append(item)
                    paths.append(path)
                    names.append(name)
                except ValueError as e:  # ImageReadError, LimitExceeded, InputShapeError, a transform refusing it
                    failures.append((path, str(e)))
        with timer.stage('inference'):
            outputs = run_images(predictor, logits_fn, [img for img, _, _ in prepared], options,
                                 deploy_cfg.input_shape[0])
        with timer.stage('postprocess'):
            for path, name, output, (_, trans_info, _) in zip(paths, names, outputs, prepared):
                try:
                    written.append(_save_outputs(args, deploy_cfg, output, trans_info, name))
                except OutputNameError as e:
                    failures.append((path, str(e)))
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
    print('saved {} masks{} to {}'.format(len(written), ' and .npy {}'.format(args.save_npy) if args.save_npy
                                         else '', args.save_dir))
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
    # Every refusal of bad input is a ValueError: DeployConfigError, DeployArgumentError,
    # ImageReadError, ArgmaxExportError (--is_slide / --save_npy on an argmax export),
    # --save_npy logits on a softmax export, bad window sizes.
    except (BatchFailures, ValueError, DiskWriteError) as e:
        print('error: {}'.format(e), file=sys.stderr)
        return 1
    return 0
