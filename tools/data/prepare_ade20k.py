"""Check an ADE20K download (ADEChallengeData2016) and write the lists the ADE20K configs read.

Writes ROOT/train.txt and ROOT/val.txt (``image label`` per line, relative to ROOT),
the lists of ``PreparedADE20K``. Labels are used as distributed (0 = other -> ignore,
1..150 -> classes 0..149 when read). Prints a summary; exits 1 listing every pair
that failed a check (missing, unreadable, size mismatch, value > 150).
"""
import argparse
import sys

from paddleseg_fastfcn.datasets.prepare.ade20k import prepare_ade20k
from paddleseg_fastfcn.datasets.prepare.report import run_and_report

EXAMPLE = """example:
  unzip ADEChallengeData2016.zip -d data/
  python tools/data/prepare_ade20k.py --root data/ADEChallengeData2016
"""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, epilog=EXAMPLE,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--root', required=True,
                        help='the ADEChallengeData2016 folder (holds images/ and annotations/)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    return run_and_report(prepare_ade20k, args.root)


if __name__ == '__main__':
    sys.exit(main())
