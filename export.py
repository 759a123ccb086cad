"""Export a trained model to a static inference graph plus deploy.yaml (and ONNX).

    python export.py --config configs/xxx.yml --model_path output/best_model/model.pdparams \
        --save_dir output/export [--input_shape 1 3 512 512] [--output_op argmax|softmax|none] [--onnx True]

Writes save_dir/model.json + model.pdiparams (Paddle 3's PIR format) and deploy.yaml;
with --onnx True also save_dir/model.onnx (named in deploy.yaml). See deploy/README.md.
"""
import argparse
import sys

from paddleseg_fastfcn.core.export import OUTPUT_OPS, export_model
from paddleseg_fastfcn.core.onnx_export import DEFAULT_OPSET, export_onnx
from paddleseg_fastfcn.deploy.onnx_check import verify_onnx
from paddleseg_fastfcn.utils.atomic_write import DiskWriteError
from paddleseg_fastfcn.utils.cli import existing_file, output_dir, positive_int, str2bool


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Export a paddleseg-fastfcn model for deployment.')
    p.add_argument('--config', required=True, type=existing_file, help='training YAML')
    p.add_argument('--model_path', required=True, type=existing_file, help='weights (.pdparams) to export')
    p.add_argument('--save_dir', default='./output/export', type=output_dir)
    p.add_argument('--input_shape', nargs=4, type=positive_int, default=None, metavar=('N', 'C', 'H', 'W'),
                   help='fix the input shape (default: dynamic batch, height and width)')
    p.add_argument('--output_op', choices=OUTPUT_OPS, default='argmax')
    p.add_argument('--onnx', type=str2bool, default=False, help='also write model.onnx (paddle2onnx)')
    p.add_argument('--opset_version', type=positive_int, default=DEFAULT_OPSET)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        info = export_model(args.config, args.model_path, args.save_dir,
                            input_shape=args.input_shape, output_op=args.output_op)
        print('exported {} + {} and {}'.format(info['model'], info['params'], info['deploy_yaml']))
        if args.onnx:
            print('exported {}'.format(export_onnx(args.save_dir, args.opset_version)))
            print('ONNX Runtime matches Paddle Inference (difference {:.2g})'.format(verify_onnx(args.save_dir)))
    except DiskWriteError as e:
        # A full disk or read-only --save_dir: what, space needed and free; no partial file left.
        print('error: {}'.format(e), file=sys.stderr)
        return 1
    except (ValueError, FileNotFoundError) as e:
        # Bad input, named: a config, weights or export file, or an --input_shape the model cannot take.
        print('error: {}: {}'.format(type(e).__name__, e), file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
