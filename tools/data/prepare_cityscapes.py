"""Convert Cityscapes fine labels to the 19 train ids and write the train / val lists.

Writes gtFine/<split>/<city>/*_gtFine_labelTrainIds.png next to each source label
(what PaddleSeg's Cityscapes dataset and configs/_base_/cityscapes_480x480_240e.yml
read; 255 = ignore) and ROOT/train.txt / ROOT/val.txt. The mapping and the polygon
drawing are cityscapesscripts'. Prints a summary; exits 1 listing every image that
failed (missing or unreadable file, size mismatch, unknown label id or name).
"""
import argparse
import sys

from paddleseg_fastfcn.datasets.prepare.cityscapes import SOURCES, prepare_cityscapes
from paddleseg_fastfcn.datasets.prepare.report import run_and_report
from paddleseg_fastfcn.utils.cli import existing_dir

EXAMPLE = """example:
  unzip leftImg8bit_trainvaltest.zip -d data/cityscapes; unzip gtFine_trainvaltest.zip -d data/cityscapes
  python tools/data/prepare_cityscapes.py --root data/cityscapes
  python tools/data/prepare_cityscapes.py --root data/cityscapes --source polygons   # from the JSON polygons
"""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, epilog=EXAMPLE,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--root', required=True, type=existing_dir, help='folder holding leftImg8bit/ and gtFine/')
    parser.add_argument('--source', choices=sorted(SOURCES), default='labelIds',
                        help='convert *_gtFine_labelIds.png (default) or *_gtFine_polygons.json')
    parser.add_argument('--splits', nargs='+', default=['train', 'val'], help='splits to convert')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    return run_and_report(prepare_cityscapes, args.root, args.source, tuple(args.splits))


if __name__ == '__main__':
    sys.exit(main())
