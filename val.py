"""Evaluate a trained model on the config's val_dataset (PaddleSeg's tools/val.py options).

    python val.py --config configs/mini/encnet_jpu_r50_mini_64x64_600.yml \
        --model_path output/mini/best_model/model.pdparams
    # official protocol (ResizeByLong 520 in the config's val transforms):
    python val.py --config ... --model_path ... --is_slide --crop_size 480 480 --stride 320 320 \
        --aug_eval --scales 0.5 0.75 1.0 1.25 1.5 1.75 --flip_horizontal

Options not given fall back to the config's test_config. Results go to save_dir (default:
the model's folder): metrics.json, class_metrics.csv (per class, with the dataset's class
names), confusion_matrix.csv and confusion_matrix.png (heat map normalised per row); the
log lists the lowest-IoU classes first.
"""
import argparse
import sys


def parse_args(argv=None):
    from paddleseg_fastfcn.core.inference_options import add_inference_args
    from paddleseg_fastfcn.utils.cli import existing_file, non_negative_int, output_dir
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--config', required=True, type=existing_file, help='YAML config file')
    p.add_argument('--model_path', required=True, type=existing_file, help='model.pdparams to evaluate')
    p.add_argument('--num_workers', type=non_negative_int, default=0, help='data loader worker processes')
    p.add_argument('--save_dir', default=None, type=output_dir,
                   help='where metrics.json, class_metrics.csv and confusion_matrix.csv/.png go '
                        '(default: next to --model_path)')
    p.add_argument('--opts', nargs='+', default=None, metavar='KEY=VALUE', help='config overrides')
    add_inference_args(p, '--aug_eval')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from paddleseg_fastfcn.core.evaluate import evaluate_checkpoint
    from paddleseg_fastfcn.utils.atomic_write import DiskWriteError
    from paddleseg_fastfcn.utils.device import set_device
    try:
        set_device(args.device)
        evaluate_checkpoint(args.config, args.model_path, save_dir=args.save_dir,
                            num_workers=args.num_workers, opts=args.opts, overrides=args)
    except (ValueError, FileNotFoundError, DiskWriteError) as e:  # DiskWriteError: the metrics files
        print('error: {}: {}'.format(type(e).__name__, e), file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
