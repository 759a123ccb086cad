"""A checkpoint's mIoU under population BatchNorm statistics and under batch statistics.

    python tools/bn_modes.py --config configs/mini/encnet_jpu_r50_mini_64x64_600.yml \
        --model_path output/quickstart/best_model/model.pdparams [--images train] [--batch_size 4] \
        [--opts train_dataset.dataset_root=... val_dataset.dataset_root=...]

Evaluates the same weights twice: with the statistics the checkpoint carries (what
val.py and deployment compute, ``core.evaluate.evaluate``), and in batches of
``--batch_size`` images (dataset order) with every BatchNorm normalising by the batch's
own statistics (as in training; the stored statistics are not changed). ``--images val`` uses the val set, ``train`` the training
images through the val transforms. A large gap means the weights depend on batch
statistics that a single image at deployment does not have (log/learning_matrix.md).
Prints mIoU and per-class IoU for each mode.
"""
import argparse
import sys

import numpy as np


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--config', required=True)
    p.add_argument('--model_path', required=True)
    p.add_argument('--images', choices=('val', 'train'), default='val')
    p.add_argument('--batch_size', type=int, default=4)
    p.add_argument('--opts', nargs='*', default=[], help='config overrides key=value')
    return p.parse_args(argv)


def batch_statistics_score(model, images, labels, num_classes, ignore_index, batch_size):
    """(mIoU, per-class IoU) of ``model`` over the images, every BatchNorm normalising by
    the batch's own statistics; the stored statistics are left as they were."""
    import paddle
    from paddleseg_fastfcn.core.distributed import batch_norm_layers
    from paddleseg_fastfcn.core.metrics import AreaAccumulator, areas_from_confusion, compute_metrics
    model.eval()
    layers = [layer for _, layer in batch_norm_layers(model)]
    momenta = [layer._momentum for layer in layers]
    for layer in layers:
        layer.train()
        layer._momentum = 1.0  # Paddle keeps momentum x running: the stored statistics stay
    accumulator = AreaAccumulator(num_classes, ignore_index)
    try:
        with paddle.no_grad():
            for start in range(0, len(images), batch_size):
                logits = model(paddle.to_tensor(np.stack(images[start:start + batch_size])))[0]
                for pred, label in zip(paddle.argmax(logits, axis=1).numpy(), labels[start:start + batch_size]):
                    accumulator.update(pred[np.newaxis], label)
    finally:
        for layer, momentum in zip(layers, momenta):
            layer._momentum = momentum
        model.eval()
    metrics = compute_metrics(*areas_from_confusion(accumulator.confusion))
    return float(metrics['miou']), metrics['class_iou']


def main(argv=None):
    args = parse_args(argv)
    from paddleseg_fastfcn.core.builder import build_model, load_config
    from paddleseg_fastfcn.core.evaluate import evaluate
    from paddleseg_fastfcn.core.precise_bn import build_bn_dataset
    from paddleseg.cvlibs import SegBuilder
    from paddleseg_fastfcn.utils.weights import load_weights
    cfg = load_config(args.config, opts=args.opts)
    model = build_model(cfg, load_pretrained=False)
    load_weights(model, args.model_path)
    seg = SegBuilder(cfg)
    dataset = build_bn_dataset(seg, cfg, 'val') if args.images == 'train' else seg.val_dataset
    samples = [dataset[i] for i in range(len(dataset))]
    images = [np.asarray(s['img'], np.float32) for s in samples]
    labels = [np.asarray(s['label']).reshape(np.asarray(s['img']).shape[-2:]) for s in samples]
    print('{} images ({} set{}), batches of {}'.format(
        len(images), args.images, ', val transforms' if args.images == 'train' else '', args.batch_size))
    # Population statistics: what val.py computes (one image at a time gives the same result).
    population = evaluate(model, dataset, print_detail=False)
    scores = [('population statistics (the checkpoint\'s)', float(population['miou']), population['class_iou']),
              ('batch statistics',) + batch_statistics_score(model, images, labels, dataset.num_classes,
                                                             dataset.ignore_index, args.batch_size)]
    for name, miou, per_class in scores:
        print('{:<42} mIoU {:.4f}  per class {}'.format(name, miou, [round(float(v), 4) for v in per_class]))
    return 0


if __name__ == '__main__':
    sys.exit(main())
