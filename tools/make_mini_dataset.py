"""Write the synthetic mini dataset (ADE20K layout) used by the quickstart and the learning test.

Usage:
    python tools/make_mini_dataset.py --out data/mini_ade20k [--num_train 800 --num_val 100 --size 64 --seed 0]
"""
import argparse
import os
import sys

from paddleseg_fastfcn.datasets.synthetic import CLASS_NAMES, NUM_TRAIN, NUM_VAL, write_dataset
from paddleseg_fastfcn.utils.cli import int_range, non_negative_int, positive_int


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', required=True, help='output directory (the dataset_root of MiniADE20K)')
    parser.add_argument('--num_train', type=positive_int, default=NUM_TRAIN, help='training images')
    parser.add_argument('--num_val', type=positive_int, default=NUM_VAL, help='validation images')
    parser.add_argument('--size', type=int_range(32), default=64, help='image side in pixels')
    parser.add_argument('--seed', type=non_negative_int, default=0, help='same seed -> identical files')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        counts = write_dataset(args.out, num_train=args.num_train, num_val=args.num_val,
                               size=args.size, seed=args.seed)
    except ValueError as e:
        sys.exit('make_mini_dataset: {}'.format(e))
    print('wrote {} training and {} validation images ({}x{}, classes: {}) to {}'.format(
        counts['training'], counts['validation'], args.size, args.size,
        ', '.join(CLASS_NAMES), os.path.abspath(args.out)))


if __name__ == '__main__':
    main()
