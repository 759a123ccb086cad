"""Check your own segmentation dataset and write its train / val lists.

Pairs images with masks (same file name in two folders, or an ``image mask`` list),
checks every pair (readable, same size, one-channel mask or a colour mask converted
exactly with --palette, every value a declared class or the ignore value), splits them
with a seeded shuffle and writes OUT/train.txt and OUT/val.txt for a file-list
``Dataset`` config. Prints a summary with a histogram of mask values; exits 1 naming
every file that failed and why. docs/custom_dataset.md walks through training on it.
"""
import argparse
import sys

from paddleseg_fastfcn.datasets.prepare.custom import prepare_custom
from paddleseg_fastfcn.datasets.prepare.report import run_and_report
from paddleseg_fastfcn.utils.cli import (existing_dir, existing_file, fraction, int_range,
                                         non_negative_int, positive_int)

EXAMPLE = """examples:
  python tools/data/prepare_custom.py --images data/mine/images --masks data/mine/masks \\
      --class_names data/mine/classes.txt --out data/mine --val_fraction 0.2 --seed 0
  python tools/data/prepare_custom.py --list data/mine/all.txt --num_classes 3 --out data/mine
  python tools/data/prepare_custom.py --images data/mine/images --masks data/mine/colour_masks \\
      --palette data/mine/palette.txt --ignore_color 255,255,255 --out data/mine
"""


def colour(text):
    values = tuple(int(v) for v in text.replace(',', ' ').split())
    if len(values) != 3 or not all(0 <= v <= 255 for v in values):
        raise argparse.ArgumentTypeError('expected R,G,B with values 0..255, got {!r}'.format(text))
    return values


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, epilog=EXAMPLE,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--images', type=existing_dir, help='folder of images (paired with --masks by file name)')
    parser.add_argument('--masks', type=existing_dir, help='folder of masks (one-channel class ids, or colours with --palette)')
    parser.add_argument('--list', dest='list_path', type=existing_file, help='instead of the folders: a file of "image mask" lines')
    parser.add_argument('--list_root', type=existing_dir, help="what the list's paths are relative to (default: its folder)")
    parser.add_argument('--out', required=True, help='output folder for the lists (the dataset_root)')
    parser.add_argument('--num_classes', type=positive_int, help='number of classes (values 0..N-1)')
    parser.add_argument('--class_names', type=existing_file, help='file with one class name per line, class 0 first')
    parser.add_argument('--palette', type=existing_file, help='file with one "R G B" line per class: converts colour masks')
    parser.add_argument('--ignore_index', type=int_range(0, 255), default=255, help='mask value that is not a class')
    parser.add_argument('--ignore_color', type=colour, help='with --palette: the colour that means ignore')
    parser.add_argument('--val_fraction', type=fraction, default=0.2, help='share of the pairs in val.txt')
    parser.add_argument('--seed', type=non_negative_int, default=0, help='seed of the split (same seed, same lists)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    return run_and_report(
        prepare_custom, args.out, images=args.images, masks=args.masks, list_path=args.list_path,
        list_root=args.list_root, num_classes=args.num_classes, class_names=args.class_names,
        palette=args.palette, ignore_index=args.ignore_index, ignore_colour=args.ignore_color,
        val_fraction=args.val_fraction, seed=args.seed)


if __name__ == '__main__':
    sys.exit(main())
