"""Segment images with a model exported by export.py (Paddle Inference or ONNX Runtime).

    python deploy/python/infer.py --config output/export/deploy.yaml --image_path images/ \
        --save_dir output/masks [--enable_mkldnn True] [--backend onnxruntime] [--benchmark True]

See deploy/README.md; the implementation is paddleseg_fastfcn.deploy.infer.
"""

from paddleseg_fastfcn.deploy.infer import main

if __name__ == '__main__':
    main()
