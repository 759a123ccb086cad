"""Segment images with a model exported by export.py (Paddle Inference or ONNX Runtime).

    python deploy/python/infer.py --config output/export/deploy.yaml --image_path images/ \
        --save_dir output/masks [--enable_mkldnn True] [--backend onnxruntime] [--benchmark True] \
        [--save_npy logits|probs [--npy_float16]] [--is_slide --crop_size 480 480 --stride 320 320]

See deploy/README.md; the implementation is paddleseg_fastfcn.deploy.infer.
"""

from paddleseg_fastfcn.deploy.infer import main

if __name__ == '__main__':
    main()
