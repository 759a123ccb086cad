"""Parameters and multiply-adds (GMACs) of a config's model at a given input size.

    python tools/model_summary.py --config configs/encnet/encnet_jpu_r50_ade20k_480x480_120e.yml \
        --input_size 512 512 [--json out.json]

Convention: GMACs are 1e9 multiply-adds (one multiply + one add = 1 MAC = 2 FLOPs),
the convention of the FastFCN paper's cost figures, counted for Conv2D and Linear layers only
(bias, BatchNorm, activations, pooling, resizes and the Encoding layer's matmuls
are not counted). They are collected by forward hooks on every Conv2D / Linear
during one real forward pass of a 1 x 3 x H x W input, so the count follows the
actual feature sizes (dilation, stride, JPU resolution) rather than
``paddle.flops``' per-op rules. Two passes: eval (the deployed model: main head
only) and train (adds the aux head and the SE layer, as the paper's timed
forward). Parameters are the trainable ones (weights, biases, BN affine,
codewords / scales), as the official PyTorch code counts them; BN running
statistics are listed apart.
"""
import argparse
import json

import paddle

from paddleseg_fastfcn.core.builder import build_model, load_config
from paddleseg_fastfcn.utils.cli import existing_file, positive_int
from paddleseg_fastfcn.utils.model_cost import MacCounter, count_parameters


def count_macs(model, input_shape):
    """Multiply-adds per top-level part (``backbone``, ``neck``, ``head`` ...).

    Args:
        model (nn.Layer): in the mode (train / eval) to measure.
        input_shape (list[int]): [N, C, H, W] of the random input.

    Returns:
        dict: part name -> multiply-adds (int).
    """
    with MacCounter(model) as counter, paddle.no_grad():
        model(paddle.rand(input_shape))
    return counter.per_part


def summarize(model, height, width):
    """Parameters and multiply-adds of ``model`` per top-level part and in total."""
    parts = [name for name, _ in model.named_children()] or ['model']
    params = {name: count_parameters(getattr(model, name)) for name in parts
              if getattr(model, name, None) is not None}
    trainable, frozen = count_parameters(model), count_parameters(model, trainable=False)
    shape = [1, 3, height, width]
    model.eval()
    macs_eval = count_macs(model, shape)
    model.train()
    macs_train = count_macs(model, shape)
    model.eval()
    rows = []
    for name in list(params) + sorted(set(macs_train) - set(params)):
        rows.append({'part': name, 'params': params.get(name, 0),
                     'gmacs_eval': macs_eval.get(name, 0) / 1e9,
                     'gmacs_train': macs_train.get(name, 0) / 1e9})
    return {
        'model': type(model).__name__,
        'input_shape': shape,
        'params_trainable': trainable,
        'params_frozen': frozen,
        'gmacs_eval': sum(macs_eval.values()) / 1e9,
        'gmacs_train': sum(macs_train.values()) / 1e9,
        'parts': rows,
        'convention': 'GMACs = 1e9 multiply-adds of Conv2D and Linear layers (forward hooks)',
    }


def format_summary(summary, config):
    lines = [
        'config: {}'.format(config),
        'model: {}, input {}'.format(summary['model'], 'x'.join(map(str, summary['input_shape']))),
        'parameters: {:,} trainable (+ {:,} BN running statistics)'.format(
            summary['params_trainable'], summary['params_frozen']),
        'GMACs: {:.2f} eval (deployed: main head), {:.2f} train (with aux head / SE layer)'.format(
            summary['gmacs_eval'], summary['gmacs_train']),
        'convention: ' + summary['convention'] + '; bias, BN, activations, pooling, resizes '
        'and Encoding matmuls not counted',
        '',
        '| part | params | GMACs eval | GMACs train |',
        '|---|---:|---:|---:|',
    ]
    for row in summary['parts']:
        lines.append('| {} | {:,} | {:.2f} | {:.2f} |'.format(
            row['part'], row['params'], row['gmacs_eval'], row['gmacs_train']))
    lines.append('| total | {:,} | {:.2f} | {:.2f} |'.format(
        summary['params_trainable'], summary['gmacs_eval'], summary['gmacs_train']))
    return '\n'.join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config', required=True, type=existing_file, help='YAML config (PaddleSeg schema)')
    parser.add_argument('--input_size', '--size', dest='input_size', nargs=2, type=positive_int,
                        default=[512, 512], metavar=('H', 'W'), help='input height and width')
    parser.add_argument('--opts', nargs='+', default=None, help='config overrides key=value')
    parser.add_argument('--json', default=None, help='also write the summary as JSON here')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if min(args.input_size) < 1:
        raise SystemExit('--input_size must be positive, got {}'.format(args.input_size))
    paddle.set_device('cpu')
    model = build_model(load_config(args.config, opts=args.opts), load_pretrained=False)
    summary = summarize(model, *args.input_size)
    summary['config'] = args.config
    print(format_summary(summary, args.config))
    if args.json:
        with open(args.json, 'w', encoding='utf-8') as f:
            json.dump(summary, f, indent=2)
    return summary


if __name__ == '__main__':
    main()
