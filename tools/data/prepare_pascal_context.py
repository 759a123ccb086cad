"""Convert Pascal Context (VOC2010 + the Detail API's trainval_merged.json) to the 59-class labels.

Writes OUT/labels/<name>.png (classes 0..58 in the official order, 255 for background
and everything else) and OUT/train.txt / OUT/val.txt (4,998 / 5,105 images on the real
data), the dataset_root of configs/_base_/pcontext_480x480_80e.yml. Prints a summary;
exits 1 listing every image that failed (missing or unreadable JPEG, size differing
from the JSON, undecodable annotation).
"""
import argparse
import sys

from paddleseg_fastfcn.datasets.prepare.pascal_context import prepare_pascal_context
from paddleseg_fastfcn.datasets.prepare.report import run_and_report
from paddleseg_fastfcn.utils.cli import existing_dir, existing_file

EXAMPLE = """example:
  tar xf VOCtrainval_03-May-2010.tar -C data/       # -> data/VOCdevkit/VOC2010/JPEGImages
  python tools/data/prepare_pascal_context.py --voc_root data/VOCdevkit/VOC2010 \\
      --json data/trainval_merged.json --out data/pascal_context_59
"""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, epilog=EXAMPLE,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--voc_root', required=True, type=existing_dir, help='VOCdevkit/VOC2010 (holds JPEGImages/)')
    parser.add_argument('--json', required=True, type=existing_file, help="the Detail API's trainval_merged.json")
    parser.add_argument('--out', required=True, help='output folder (the configs use data/pascal_context_59)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    return run_and_report(prepare_pascal_context, args.voc_root, args.json, args.out)


if __name__ == '__main__':
    sys.exit(main())
