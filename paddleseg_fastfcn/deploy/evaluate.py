"""Evaluate an EXPORTED model (deploy.yaml) on a dataset, as val.py evaluates a checkpoint.

The dataset, its transforms, the inference protocol (whole image, sliding window,
multi-scale + flip: ``core.inference``), the metrics (``core.evaluate.evaluate``)
and the metrics files (``core.evaluate.write_results``) are val.py's; only the
logits come from Paddle Inference or ONNX Runtime (``exported_logits``). So the
mIoU measured here is the mIoU of the model that ships, and any difference from
val.py's is the runtime's.
"""
import argparse
import os
import sys
import time

from paddleseg.utils import logger

from paddleseg_fastfcn.core.builder import builder, load_config
from paddleseg_fastfcn.core.evaluate import evaluate, write_results
from paddleseg_fastfcn.core.inference_options import InferenceOptions, add_inference_args
from paddleseg_fastfcn.datasets import validate_dataset
from paddleseg_fastfcn.deploy.exported_logits import ExportedLogits, InputShapeError, require_scores
from paddleseg_fastfcn.deploy.infer import add_predictor_args, build_predictor
from paddleseg_fastfcn.deploy.paddle_predictor import default_trt_shapes
from paddleseg_fastfcn.utils.atomic_write import DiskWriteError
from paddleseg_fastfcn.utils.batch_failures import BatchFailures
from paddleseg_fastfcn.utils.cpu_tuning import reuse_freed_memory
from paddleseg_fastfcn.utils.cli import existing_file, non_negative_int, output_dir, str2bool
from paddleseg_fastfcn.utils.deploy_yaml import DeployConfig


def backend_name(args):
    """``paddle`` / ``paddle_onednn`` / ``onnxruntime``: names the run and its default folder."""
    if args.backend == 'paddle' and args.enable_mkldnn:
        return 'paddle_onednn'
    return args.backend


def check_protocol(deploy_cfg, options):
    """Refuse sliding windows / multi-scale / flip on an argmax export (labels cannot be averaged)."""
    if options.is_slide:
        require_scores(deploy_cfg, 'sliding-window evaluation (is_slide)')
    if options.aug:
        require_scores(deploy_cfg, 'multi-scale / flip evaluation (aug_eval)')


def warn_on_transform_mismatch(deploy_cfg, val_dataset_cfg, dataset_config):
    """The dataset's val transforms preprocess here (as in val.py); say so when the export's differ."""
    deploy_transforms = deploy_cfg.section.get('transforms')
    val_transforms = (val_dataset_cfg or {}).get('transforms')
    if deploy_transforms != val_transforms:
        logger.warning('{}: transforms {} differ from val_dataset.transforms {} of {}; the dataset\'s '
                       'are used, as val.py does'.format(deploy_cfg.path, deploy_transforms,
                                                         val_transforms, dataset_config))


def evaluate_export(args):
    """What deploy/python/eval.py does: evaluate ``args.config`` on ``args.dataset_config``'s val set.

    Args:
        args (argparse.Namespace): ``deploy.python.eval``'s options: ``config``
            (deploy.yaml), ``dataset_config`` (the training YAML: ``val_dataset`` and
            ``test_config``), ``save_dir``, ``num_workers``, ``opts``, the inference
            options (``InferenceOptions.from_config``) and the predictor options
            (``infer.add_predictor_args``).

    Returns:
        dict: the metrics of ``core.evaluate.evaluate`` plus ``seconds`` (the whole
        loop: reading, inference, metrics) and ``images_per_s``.

    Raises:
        ArgmaxExportError: sliding window / multi-scale on an argmax export.
        BatchFailures: after the metrics of the other images were written, naming each
            image a fixed-shape export cannot take (``metrics.json`` lists them too).
        DeployConfigError, ConfigError, ValueError: bad files or options (named).
    """
    deploy_cfg = DeployConfig(args.config)
    if args.onnx_file:
        deploy_cfg.onnx_file = args.onnx_file
    cfg = load_config(args.dataset_config, opts=args.opts, datasets=('val_dataset',))
    options = InferenceOptions.from_config(cfg.test_config, args)
    check_protocol(deploy_cfg, options)
    dataset = validate_dataset(builder(cfg).val_dataset, cfg.val_dataset_cfg)
    warn_on_transform_mismatch(deploy_cfg, cfg.val_dataset_cfg, args.dataset_config)
    name = backend_name(args)
    args.save_dir = args.save_dir or os.path.join(os.path.dirname(os.path.abspath(args.config)),
                                                  'eval_' + name)
    if args.device == 'cpu':
        reuse_freed_memory()  # as infer.py: Paddle Inference mallocs its CPU tensors per run
    predictor = build_predictor(args, deploy_cfg, default_trt_shapes() if args.use_trt else None)
    logits_fn = ExportedLogits(predictor, deploy_cfg.output_op, dataset.num_classes, deploy_cfg.input_shape)
    start = time.perf_counter()
    # An image a fixed-shape export cannot take is left out and listed; the others are evaluated.
    result = evaluate(logits_fn, dataset, num_workers=args.num_workers, options=options,
                      print_detail=getattr(args, 'print_detail', True), skip_errors=(InputShapeError,))
    result['seconds'] = time.perf_counter() - start
    result['images_per_s'] = result['num_images'] / result['seconds'] if result['seconds'] > 0 else 0.0
    paths = write_results(result, args.save_dir, getattr(dataset, 'CLASS_NAMES', None), extra={
        'deploy_config': args.config, 'dataset_config': args.dataset_config, 'backend': name,
        'output_op': deploy_cfg.output_op, 'cpu_threads': args.cpu_threads,
        'inference': options.to_dict()})
    logger.info('[EVAL {}] {:.3f} images/s; per-class results written to {} and {}'.format(
        name, result['images_per_s'], *paths))
    if result['failures']:
        raise BatchFailures(result['failures'])
    return result


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Evaluate an exported model (deploy.yaml) on a dataset, as val.py does.')
    p.add_argument('--config', required=True, type=existing_file, help='deploy.yaml written by export.py')
    p.add_argument('--dataset_config', required=True, type=existing_file,
                   help='the training YAML: its val_dataset and test_config are used, as by val.py')
    p.add_argument('--save_dir', default=None, type=output_dir,
                   help='where metrics.json / class_metrics.csv go (default: eval_<backend> next to --config)')
    p.add_argument('--num_workers', type=non_negative_int, default=0, help='data loader worker processes')
    p.add_argument('--opts', nargs='+', default=None, metavar='KEY=VALUE', help='overrides of --dataset_config')
    p.add_argument('--print_detail', type=str2bool, default=True)
    add_inference_args(p, '--aug_eval')  # also --device
    add_predictor_args(p)
    return p.parse_args(argv)


def main(argv=None):
    try:
        evaluate_export(parse_args(argv))
    except BatchFailures as e:
        print('error: {}'.format(e), file=sys.stderr)
        return 1
    except (ValueError, FileNotFoundError, DiskWriteError) as e:  # DiskWriteError: the metrics files
        print('error: {}: {}'.format(type(e).__name__, e), file=sys.stderr)
        return 1
    return 0
