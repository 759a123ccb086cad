"""Predict segmentation masks for images (PaddleSeg's tools/predict.py options).

    python predict.py --config configs/mini/encnet_jpu_r50_mini_64x64_600.yml \
        --model_path output/mini/best_model/model.pdparams \
        --image_path data/mini_ade20k/images/validation --save_dir output/mini/predict

--image_path is an image, a folder (recursive) or a list file (.txt / .list). Writes
save_dir/pseudo_color_prediction/<name>.png (palette mask) and
save_dir/added_prediction/<name>.png (overlay), names relative to the input folder.
With --output_format ade20k_submission (150-class ADE20K models) it writes only
save_dir/ade20k_submission/<name>.png: uint8 class id + 1, the SceneParsing test server's format.
An image that cannot be read does not stop the run: every other image is written,
then the run exits 1 listing each failed image and why (docs/bad_inputs.md).
"""
import argparse
import sys


def parse_args(argv=None):
    from paddleseg_fastfcn.core.inference_options import add_inference_args
    from paddleseg_fastfcn.utils.cli import existing_file, existing_path, output_dir
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--config', required=True, type=existing_file, help='YAML config file')
    p.add_argument('--model_path', required=True, type=existing_file, help='model.pdparams')
    p.add_argument('--image_path', required=True, type=existing_path, help='image file, folder or list file (.txt / .list)')
    p.add_argument('--save_dir', default='output/result', type=output_dir, help='output folder')
    p.add_argument('--output_format', default='pseudo_color',
                   choices=['pseudo_color', 'ade20k_submission'],
                   help='pseudo_color: palette masks + overlays; ade20k_submission: uint8 PNGs of '
                        'class id + 1 named as the images (ADE20K test server; 150-class models)')
    p.add_argument('--opts', nargs='+', default=None, metavar='KEY=VALUE', help='config overrides')
    add_inference_args(p, '--aug_pred')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from paddleseg_fastfcn.core.predict import predict_from_config
    from paddleseg_fastfcn.utils.device import set_device
    from paddleseg_fastfcn.utils.atomic_write import DiskWriteError
    from paddleseg_fastfcn.utils.batch_failures import BatchFailures
    try:
        set_device(args.device)
        predict_from_config(args.config, args.model_path, args.image_path, save_dir=args.save_dir,
                            opts=args.opts, overrides=args, output_format=args.output_format)
    except BatchFailures as e:
        print('wrote {} mask(s) to {}'.format(len(e.written), args.save_dir))
        print('error: {}'.format(e), file=sys.stderr)
        return 1
    except (ValueError, FileNotFoundError, DiskWriteError) as e:
        print('error: {}: {}'.format(type(e).__name__, e), file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
