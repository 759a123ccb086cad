"""Segment images with a model exported by export.py (Paddle Inference or ONNX Runtime).

    python deploy/python/infer.py --config output/export/deploy.yaml --image_path images/ \
        --save_dir output/masks [--enable_mkldnn True] [--backend onnxruntime] [--benchmark True]

See deploy/README.md; the implementation is paddleseg_fastfcn.deploy.infer.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from paddleseg_fastfcn.deploy.infer import main  # noqa: E402

if __name__ == '__main__':
    main()
