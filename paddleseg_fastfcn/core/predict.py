"""Predict masks for image files: pseudo-colour PNGs and image/mask overlays.

Replaces PaddleSeg 2.8's ``core.predict`` (its inference resizes with
``F.interpolate``; see ``core.inference``) and keeps each image's path relative
to the input folder, so images with the same name in different sub-folders do not
overwrite each other.
"""
import os

import cv2
import numpy as np
import paddle
from paddleseg.transforms import Compose
from paddleseg.utils import logger, progbar

from paddleseg_fastfcn.utils.image_io import collect_images, read_image
from paddleseg_fastfcn.utils.visualize import overlay, pseudo_color_mask
from .builder import build_model, builder, load_config
from .inference import load_model_weights, predict_logits
from .inference_options import InferenceOptions

OVERLAY_DIR = 'added_prediction'
MASK_DIR = 'pseudo_color_prediction'


def predict(model, transforms, image_path, save_dir='output/result', options=InferenceOptions()):
    """Predict every image under ``image_path`` and write masks and overlays.

    Args:
        model (paddle.nn.Layer): segmentation model (put in eval mode).
        transforms (paddleseg.transforms.Compose): the config's val transforms.
        image_path (str): file, folder or list (see ``utils.image_io.collect_images``).
        save_dir (str): outputs go to ``save_dir/pseudo_color_prediction/<rel>.png``
            (palette PNG of class ids) and ``save_dir/added_prediction/<rel>.png``
            (image blended with the mask), ``<rel>`` = path relative to the input.
        options (InferenceOptions): whole / sliding-window, multi-scale and flip
            inference; the default is one whole-image pass.

    Returns:
        list[str]: the written mask files.
    """
    images = collect_images(image_path)
    model.eval()
    written = []
    bar = progbar.Progbar(target=len(images.paths), verbose=1)
    logger.info('Predicting {} image(s) into {}'.format(len(images.paths), save_dir))
    for i, (path, origin) in enumerate(zip(images.paths, images.origins)):
        img_bgr = read_image(path, origin)
        # Compose converts BGR to RGB, as when it reads a file itself.
        data = transforms({'img': img_bgr.astype(np.float32), 'trans_info': []})
        im = paddle.to_tensor(data['img'][np.newaxis])
        logit = predict_logits(model, im, data['trans_info'], options)
        pred = paddle.argmax(logit, axis=1)[0].numpy().astype(np.uint8)
        rel = os.path.splitext(os.path.relpath(os.path.abspath(path), os.path.abspath(images.base)))[0]
        mask_path = os.path.join(save_dir, MASK_DIR, rel + '.png')
        overlay_path = os.path.join(save_dir, OVERLAY_DIR, rel + '.png')
        for p in (mask_path, overlay_path):
            os.makedirs(os.path.dirname(p), exist_ok=True)
        pseudo_color_mask(pred).save(mask_path)
        cv2.imwrite(overlay_path, overlay(img_bgr, pred))
        written.append(mask_path)
        bar.update(i + 1)
    return written


def predict_from_config(config, model_path, image_path, save_dir='output/result', opts=None,
                        overrides=None):
    """What predict.py does: build from ``config`` (its val transforms and
    ``test_config``), load ``model_path`` and run ``predict``.

    Args:
        overrides (argparse.Namespace | dict | None): command-line inference options
            over the config's ``test_config`` (see ``InferenceOptions.from_config``).

    Returns:
        list[str]: the written mask files.
    """
    if not os.path.isfile(model_path):
        raise FileNotFoundError('--model_path not found: {}'.format(model_path))
    cfg = load_config(config, opts=opts)
    options = InferenceOptions.from_config(cfg.test_config, overrides)
    model = build_model(cfg, load_pretrained=False)
    load_model_weights(model, model_path)
    transforms = Compose(builder(cfg).val_transforms)
    return predict(model, transforms, image_path, save_dir=save_dir, options=options)
