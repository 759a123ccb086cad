"""Segment images with a model exported by export.py (Paddle Inference or ONNX Runtime).

    python deploy/python/infer.py --config output/export/deploy.yaml --image_path images/ \
        --save_dir output/masks [--enable_mkldnn True] [--backend onnxruntime] [--benchmark True] \
        [--save_npy logits|probs [--npy_float16]] [--is_slide --crop_size 480 480 --stride 320 320]

An unreadable image does not stop the run: the others are written, then it exits 1
listing each failed image and why. See deploy/README.md and docs/bad_inputs.md; the
implementation is paddleseg_fastfcn.deploy.infer.
"""
import os
import sys

# This repository's package, also when another copy of it is installed (as eval.py does).
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from paddleseg_fastfcn.deploy.infer import cli  # noqa: E402

if __name__ == '__main__':
    sys.exit(cli())
