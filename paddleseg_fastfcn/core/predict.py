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

from paddleseg_fastfcn.utils.visualize import overlay, pseudo_color_mask
from .builder import build_model, builder, load_config
from .inference import load_model_weights, predict_logits, resolve_options

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
OVERLAY_DIR = 'added_prediction'
MASK_DIR = 'pseudo_color_prediction'


def collect_images(image_path):
    """Images to predict and the directory their output names are relative to.

    Args:
        image_path (str): an image file, a folder (searched recursively, sorted) or
            a ``.txt`` list (one image per line, first field; relative paths are
            relative to the list's folder).

    Returns:
        tuple: ``(list of image paths, base directory)``.

    Raises:
        FileNotFoundError: ``image_path`` or a listed image does not exist (named,
            with the list file and line); ValueError: no image found.
    """
    if not os.path.exists(image_path):
        raise FileNotFoundError('--image_path not found: {}'.format(image_path))
    if os.path.isdir(image_path):
        images = sorted(os.path.join(d, n) for d, _, names in os.walk(image_path) for n in names
                        if n.lower().endswith(IMAGE_EXTENSIONS))
        base = image_path
    elif image_path.lower().endswith('.txt'):
        base, images = os.path.dirname(os.path.abspath(image_path)), []
        with open(image_path, 'r') as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                path = os.path.join(base, line.split()[0])
                if not os.path.isfile(path):
                    raise FileNotFoundError('image not found: {} (listed at {}:{})'.format(
                        path, image_path, lineno))
                images.append(path)
    else:
        images, base = [image_path], os.path.dirname(os.path.abspath(image_path))
    if not images:
        raise ValueError('no image found in {}'.format(image_path))
    return images, base


def read_image_bgr(path):
    """An image as [H, W, 3] uint8 BGR: grayscale is expanded, alpha dropped, 16-bit scaled.

    Raises:
        ValueError: the file is not a readable image (named).
    """
    img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if img is None:
        raise ValueError('cannot read image file {}'.format(path))
    if img.dtype == np.uint16:
        img = (img // 257).astype(np.uint8)
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    elif img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    return img.astype(np.uint8)


def predict(model, transforms, image_path, save_dir='output/result', aug_pred=False, scales=1.0,
            flip_horizontal=False, is_slide=False, crop_size=None, stride=None):
    """Predict every image under ``image_path`` and write masks and overlays.

    Args:
        model (paddle.nn.Layer): segmentation model (put in eval mode).
        transforms (paddleseg.transforms.Compose): the config's val transforms.
        image_path (str): file, folder or ``.txt`` list (see ``collect_images``).
        save_dir (str): outputs go to ``save_dir/pseudo_color_prediction/<rel>.png``
            (palette PNG of class ids) and ``save_dir/added_prediction/<rel>.png``
            (image blended with the mask), ``<rel>`` = path relative to the input.
        aug_pred, scales, flip_horizontal, is_slide, crop_size, stride: see
            ``inference.predict_logits``.

    Returns:
        list[str]: the written mask files.
    """
    images, base = collect_images(image_path)
    model.eval()
    written = []
    bar = progbar.Progbar(target=len(images), verbose=1)
    logger.info('Predicting {} image(s) into {}'.format(len(images), save_dir))
    for i, path in enumerate(images):
        img_bgr = read_image_bgr(path)
        # Compose converts BGR to RGB, as when it reads a file itself.
        data = transforms({'img': img_bgr.astype(np.float32), 'trans_info': []})
        im = paddle.to_tensor(data['img'][np.newaxis])
        logit = predict_logits(model, im, data['trans_info'], aug=aug_pred, scales=scales,
                               flip_horizontal=flip_horizontal, is_slide=is_slide,
                               crop_size=crop_size, stride=stride)
        pred = paddle.argmax(logit, axis=1)[0].numpy().astype(np.uint8)
        rel = os.path.splitext(os.path.relpath(os.path.abspath(path), os.path.abspath(base)))[0]
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
                        **options):
    """What predict.py does: build from ``config`` (its val transforms and
    ``test_config``), load ``model_path`` and run ``predict``.

    Args:
        options: ``aug, scales, flip_horizontal, is_slide, crop_size, stride``; None
            keeps the config's ``test_config`` value.

    Returns:
        list[str]: the written mask files.
    """
    if not os.path.isfile(model_path):
        raise FileNotFoundError('--model_path not found: {}'.format(model_path))
    cfg = load_config(config, opts=opts)
    inference = resolve_options(cfg.test_config, **options)
    model = build_model(cfg, load_pretrained=False)
    load_model_weights(model, model_path)
    transforms = Compose(builder(cfg).val_transforms)
    return predict(model, transforms, image_path, save_dir=save_dir, aug_pred=inference['aug'],
                   scales=inference['scales'], flip_horizontal=inference['flip_horizontal'],
                   is_slide=inference['is_slide'], crop_size=inference['crop_size'],
                   stride=inference['stride'])
