"""Evaluate a segmentation model over a whole dataset (replaces PaddleSeg 2.8's
``core.evaluate``, whose metrics fail on Paddle 3; see ``core.metrics``)."""
import csv
import json
import os

import numpy as np
import paddle
from paddleseg.utils import logger, progbar

from paddleseg_fastfcn.datasets import validate_dataset
from paddleseg_fastfcn.datasets.class_names import resolve_class_names
from paddleseg_fastfcn.utils.atomic_write import write_atomically, write_text
from .builder import build_model, builder, load_config
from .data_loader import build_loader
from .distributed import init_distributed
from .inference import load_model_weights, predict_logits
from .eval_report import worst_classes_table, write_confusion_files
from .inference_options import InferenceOptions
from .metrics import AreaAccumulator, all_reduce_confusion, areas_from_confusion, compute_metrics


def _first_sample(batch):
    """collate_fn for batch size 1: keep the sample as the dataset returns it.

    Evaluation runs one image at a time (images may differ in size) and needs the
    raw ``trans_info`` records, which the default collate would turn into tensors.
    """
    return batch[0]


def _local_indices(num_samples):
    """This process's share of the samples (every sample exactly once over all ranks)."""
    world, rank = paddle.distributed.get_world_size(), paddle.distributed.get_rank()
    return list(range(rank, num_samples, world))


def _sample_name(dataset, index):
    """The image file of sample ``index`` (PaddleSeg datasets list them), else ``sample <index>``."""
    file_list = getattr(dataset, 'file_list', None)
    if file_list is not None and index < len(file_list):
        return str(file_list[index][0])
    return 'sample {}'.format(index)


def evaluate(model, dataset, num_workers=0, options=InferenceOptions(), print_detail=True,
             class_names=None, skip_errors=()):
    """mIoU, pixAcc, Kappa, Dice and per-class IoU / precision over ``dataset``.

    Args:
        model (paddle.nn.Layer | callable): returns ``[logits [N, C, H, W], ...]``; put
            in eval mode for the run and restored to its previous mode afterwards. Or a
            logits function (``core.inference.as_logits_fn``), e.g. an exported model.
        dataset (paddle.io.Dataset): a PaddleSeg-style dataset in 'val' mode (samples
            with ``img`` [3, H, W], ``label`` [1, h0, w0] at the original size,
            ``trans_info``) with ``num_classes`` and ``ignore_index``.
        num_workers (int): DataLoader worker processes.
        options (InferenceOptions): whole / sliding-window, multi-scale and flip
            inference; the default is one whole-image pass.
        print_detail (bool): progress bar and a summary in the log (the worst
            classes first).
        class_names (list[str] | None): names for the log; default the class ids.
        skip_errors (tuple[type]): exceptions of ``model`` that refuse one sample (e.g. an
            image a fixed-shape export cannot take): that sample is left out of the
            metrics and listed in ``failures``; the others are evaluated (one process only).

    Returns:
        dict: see ``metrics.compute_metrics`` (``miou``, ``acc``, ``kappa``, ``dice``,
        ``class_iou``, ``class_precision``, ``class_recall``, ``class_dice``, areas)
        plus ``num_images`` and ``confusion_matrix`` (int64 [C, C], label rows x
        prediction columns), and with ``skip_errors`` ``failures`` (``[(image, reason)]``;
        ``num_images`` then counts the evaluated ones). Under ``paddle.distributed`` the matrix is summed over
        all processes, so every rank returns the metrics of the whole set.
    """
    indices = _local_indices(len(dataset))
    loader = build_loader(dataset, [[i] for i in indices], num_workers, collate_fn=_first_sample)
    accumulator = AreaAccumulator(dataset.num_classes, dataset.ignore_index)
    bar = progbar.Progbar(target=len(indices), verbose=1) if print_detail else None
    if print_detail:
        logger.info('Start evaluating (total samples: {})...'.format(len(dataset)))
    was_training = isinstance(model, paddle.nn.Layer) and model.training
    if isinstance(model, paddle.nn.Layer):
        model.eval()
    failures = []
    try:
        for step, sample in enumerate(loader):
            im = paddle.to_tensor(np.asarray(sample['img'], np.float32)[np.newaxis])
            try:
                logit = predict_logits(model, im, sample.get('trans_info'), options)
            except skip_errors as e:
                failures.append((_sample_name(dataset, indices[step]), str(e)))
                continue
            pred = paddle.argmax(logit, axis=1).numpy()
            label = np.asarray(sample['label'])
            label = label.reshape(label.shape[-2:])
            if pred.shape[-2:] != label.shape:
                raise ValueError('prediction {} and label {} sizes differ for sample {}'.format(
                    pred.shape[-2:], label.shape, indices[step]))
            accumulator.update(pred, label)
            if bar is not None:
                bar.update(step + 1)
    finally:
        if was_training:
            model.train()
    confusion = all_reduce_confusion(accumulator.confusion)
    result = compute_metrics(*areas_from_confusion(confusion))
    result['confusion_matrix'] = confusion
    result['num_images'] = len(dataset) - len(failures)
    if skip_errors:
        result['failures'] = failures
    if print_detail:
        logger.info('[EVAL] #Images: {} mIoU: {:.4f} Acc: {:.4f} Kappa: {:.4f} Dice: {:.4f}'.format(
            result['num_images'], result['miou'], result['acc'], result['kappa'], result['dice']))
        names = class_names or [str(c) for c in range(dataset.num_classes)]
        for line in worst_classes_table(result, names):
            logger.info('[EVAL] ' + line)
        logger.info('[EVAL] Class IoU: ' + str(np.round(result['class_iou'], 4)))
        logger.info('[EVAL] Class Precision: ' + str(np.round(result['class_precision'], 4)))
        logger.info('[EVAL] Class Recall: ' + str(np.round(result['class_recall'], 4)))
    return result


def write_results(result, save_dir, class_names=None, extra=None):
    """Write ``metrics.json`` (all metrics), ``class_metrics.csv`` (one row per class)
    and, when ``result`` holds it, the confusion matrix (``eval_report``:
    ``confusion_matrix.csv`` with the names as header and first column,
    ``confusion_matrix.png`` heat map normalised per row).

    Returns:
        tuple: the written file paths (JSON, class CSV, then the confusion CSV and PNG).
    """
    os.makedirs(save_dir, exist_ok=True)
    num_classes = len(result['class_iou'])
    names = list(class_names) if class_names is not None and len(class_names) == num_classes \
        else [str(i) for i in range(num_classes)]
    # The matrix goes to its own CSV (C x C numbers would swamp the JSON).
    summary = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in result.items()
               if k != 'confusion_matrix'}
    summary['class_names'] = names
    summary.update(extra or {})
    json_path = os.path.join(save_dir, 'metrics.json')
    write_text(json_path, json.dumps(summary, indent=2), 'metrics')
    csv_path = os.path.join(save_dir, 'class_metrics.csv')

    def write_class_csv(tmp):
        with open(tmp, 'w', newline='') as f:
            writer = csv.writer(f)
            writer.writerow(['class_id', 'name', 'iou', 'precision', 'recall', 'dice',
                             'label_pixels', 'pred_pixels'])
            for c in range(num_classes):
                writer.writerow([c, names[c], '{:.6f}'.format(result['class_iou'][c]),
                                 '{:.6f}'.format(result['class_precision'][c]),
                                 '{:.6f}'.format(result['class_recall'][c]),
                                 '{:.6f}'.format(result['class_dice'][c]),
                                 int(result['label_area'][c]), int(result['pred_area'][c])])
    write_atomically(csv_path, write_class_csv, 'class metrics')
    if 'confusion_matrix' not in result:
        return json_path, csv_path
    return (json_path, csv_path) + write_confusion_files(result['confusion_matrix'], names, save_dir)


def dataset_class_names(cfg, dataset):
    """The class names of ``dataset``: the config's ``class_names`` (a built-in list or a
    names file), else the dataset's own (see ``datasets.class_names.resolve_class_names``)."""
    return resolve_class_names(dataset, cfg.dic.get('class_names'))


def evaluate_checkpoint(config, model_path, save_dir=None, num_workers=0, opts=None,
                        print_detail=True, overrides=None):
    """What val.py does: build from ``config``, load ``model_path``, evaluate, write results.

    Args:
        config (str): YAML config (``val_dataset``, ``model``, optional ``test_config``).
        model_path (str): a ``model.pdparams`` state dict.
        save_dir (str | None): results folder; default the folder of ``model_path``.
        overrides (argparse.Namespace | dict | None): command-line inference options
            over the config's ``test_config`` (see ``InferenceOptions.from_config``).

    Returns:
        dict: the metrics (see ``evaluate``).
    """
    if not os.path.isfile(model_path):
        raise FileNotFoundError('--model_path not found: {}'.format(model_path))
    cfg = load_config(config, opts=opts, datasets=('val_dataset',))
    # Under paddle.distributed.launch each rank evaluates its share of the images.
    _, rank = init_distributed()
    options = InferenceOptions.from_config(cfg.test_config, overrides)
    model = build_model(cfg, load_pretrained=False)
    load_model_weights(model, model_path)
    dataset = validate_dataset(builder(cfg).val_dataset, cfg.val_dataset_cfg)
    names = dataset_class_names(cfg, dataset)
    result = evaluate(model, dataset, num_workers=num_workers, options=options,
                      print_detail=print_detail, class_names=names)
    if rank != 0:
        return result
    save_dir = save_dir or os.path.dirname(os.path.abspath(model_path))
    paths = write_results(result, save_dir, names,
                          extra={'config': config, 'model_path': model_path,
                                 'inference': options.to_dict()})
    logger.info('Results written to {}'.format(', '.join(paths)))
    return result
