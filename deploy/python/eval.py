"""Evaluate a model exported by export.py on a dataset, with val.py's protocol and metrics files.

    python deploy/python/eval.py --config output/export/deploy.yaml \
        --dataset_config configs/mini/encnet_jpu_r50_mini_64x64_600.yml \
        [--backend paddle|onnxruntime] [--enable_mkldnn True|False] [--cpu_threads 2] \
        [--is_slide --crop_size 480 480 --stride 320 320] \
        [--aug_eval --scales 0.5 0.75 1.0 1.25 1.5 1.75 --flip_horizontal]

Sliding windows and multi-scale / flip need an `export.py --output_op none` (or softmax)
export. See deploy/README.md; the implementation is paddleseg_fastfcn.deploy.evaluate.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from paddleseg_fastfcn.deploy.evaluate import main  # noqa: E402

if __name__ == '__main__':
    sys.exit(main())
