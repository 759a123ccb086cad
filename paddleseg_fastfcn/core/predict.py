"""Predict masks for image files: pseudo-colour PNGs and image/mask overlays.

Replaces PaddleSeg 2.8's ``core.predict`` (its inference resizes with
``F.interpolate``; see ``core.inference``) and names outputs by
``utils.output_names``: each image's path relative to the input folder (for a
list, the deepest folder holding its images), so images with the same name in
different sub-folders do not overwrite each other and nothing is written outside
``save_dir``.
"""
import os

import cv2
import numpy as np
import paddle
from paddleseg.transforms import Compose
from paddleseg.utils import logger, progbar

from paddleseg_fastfcn.utils.atomic_write import write_atomically
from paddleseg_fastfcn.utils.batch_failures import BatchFailures
from paddleseg_fastfcn.utils.image_io import collect_images, read_image
from paddleseg_fastfcn.utils.output_names import output_file, plan_outputs
from paddleseg_fastfcn.utils.visualize import overlay, pseudo_color_mask
from .builder import build_model, builder, load_config
from .inference import load_model_weights, predict_logits
from .inference_options import InferenceOptions

OVERLAY_DIR = 'added_prediction'
MASK_DIR = 'pseudo_color_prediction'
SUBMISSION_DIR = 'ade20k_submission'
# 'pseudo_color': palette masks and overlays; 'ade20k_submission': the SceneParsing
# test server's format (one uint8 PNG of class id + 1 per image, 0 = "other").
OUTPUT_FORMATS = ('pseudo_color', 'ade20k_submission')
ADE20K_NUM_CLASSES = 150


def predict(model, transforms, image_path, save_dir='output/result', options=InferenceOptions(),
            output_format='pseudo_color'):
    """Predict every image under ``image_path`` and write masks and overlays.

    Args:
        model (paddle.nn.Layer): segmentation model (put in eval mode).
        transforms (paddleseg.transforms.Compose): the config's val transforms.
        image_path (str): file, folder or list (see ``utils.image_io.collect_images``).
        save_dir (str): outputs go to ``save_dir/pseudo_color_prediction/<rel>.png``
            (palette PNG of class ids) and ``save_dir/added_prediction/<rel>.png``
            (image blended with the mask), ``<rel>`` = path relative to
            ``collect_images(image_path).base`` (``utils.output_names.plan_outputs``:
            two images that would share an output are both refused by name).
        options (InferenceOptions): whole / sliding-window, multi-scale and flip
            inference; the default is one whole-image pass.
        output_format (str): 'pseudo_color' (the two outputs above) or
            'ade20k_submission': only ``save_dir/ade20k_submission/<rel>.png``, uint8
            class id + 1 (needs a 150-class model).

    Returns:
        list[str]: the written mask files.

    Raises:
        BatchFailures: after every other image was predicted and written, naming
            each image that could not be read, was refused (not a regular file, above
            the pixel cap, an output name shared or resolving outside ``save_dir``)
            or written, and why (the batch rule of ``utils.batch_failures``); each
            output is complete or absent.
        DiskWriteError: the disk refused an output (no space, read-only): the
            run stops there, as every further write would fail too; the outputs
            written before stay complete.
        ValueError: an unknown ``output_format``, or 'ade20k_submission' with a model
            whose output does not have 150 classes (raised at once: the model, not
            an image, is wrong).
    """
    if output_format not in OUTPUT_FORMATS:
        raise ValueError('output_format must be one of {}, got {!r}'.format(
            ', '.join(OUTPUT_FORMATS), output_format))
    images = collect_images(image_path)
    plan = plan_outputs(images.paths, images.base, images.origins)
    model.eval()
    written, failures = [], list(plan.failures)
    bar = progbar.Progbar(target=len(plan.items), verbose=1)
    logger.info('Predicting {} image(s) into {}'.format(len(plan.items), save_dir))
    for i, (path, origin, name) in enumerate(plan.items):
        try:
            img_bgr, logit = _infer_one(model, transforms, path, origin, options)
            if output_format == 'ade20k_submission':
                outputs = [output_file(os.path.join(save_dir, SUBMISSION_DIR), name, '.png')]
            else:
                outputs = [output_file(os.path.join(save_dir, d), name, '.png') for d in (MASK_DIR, OVERLAY_DIR)]
        except (ValueError, OSError) as e:
            # ImageReadError, LimitExceeded, OutputNameError (ValueErrors) or a transform refusing the image.
            failures.append((path, str(e)))
            bar.update(i + 1)
            continue
        if output_format == 'ade20k_submission' and logit.shape[1] != ADE20K_NUM_CLASSES:
            raise ValueError('--output_format ade20k_submission needs a {}-class ADE20K model; '
                             'this one predicts {} classes'.format(ADE20K_NUM_CLASSES, logit.shape[1]))
        pred = paddle.argmax(logit, axis=1)[0].numpy().astype(np.uint8)
        # A DiskWriteError goes up: the output folder, not this image, is the problem,
        # and every further write would fail too.
        if output_format == 'ade20k_submission':
            written.append(_write_submission_png(pred, outputs[0]))
        else:
            written.append(_write_pseudo_color(img_bgr, pred, *outputs))
        bar.update(i + 1)
    if failures:
        raise BatchFailures(failures, written)
    return written


def _infer_one(model, transforms, path, origin, options):
    """Read one image and predict it; returns (image [H, W, 3] BGR uint8, logits [1, C, H, W])."""
    img_bgr = read_image(path, origin)
    # Compose converts BGR to RGB, as when it reads a file itself.
    data = transforms({'img': img_bgr.astype(np.float32), 'trans_info': []})
    im = paddle.to_tensor(data['img'][np.newaxis])
    return img_bgr, predict_logits(model, im, data['trans_info'], options)


def _write_pseudo_color(img_bgr, pred, mask_path, overlay_path):
    """Write the palette mask and the overlay of ``pred`` ([H, W] class ids) atomically; returns the mask file."""
    mask = pseudo_color_mask(pred)
    write_atomically(mask_path, lambda tmp: mask.save(tmp, format='PNG'), 'mask')
    blended = overlay(img_bgr, pred)
    write_atomically(overlay_path, lambda tmp: _imwrite(tmp, blended), 'overlay')
    return mask_path


def _write_submission_png(pred, path):
    """Write ``pred`` ([H, W] class ids 0..149) atomically as the test server wants: uint8 id + 1."""
    submission = pred.astype(np.uint8) + 1
    write_atomically(path, lambda tmp: _imwrite(tmp, submission), 'ADE20K submission PNG')
    return path


def _imwrite(path, image):
    if not cv2.imwrite(path, image):
        # cv2 returns False instead of raising (e.g. no space left).
        raise OSError('cv2.imwrite could not write {}'.format(path))


def predict_from_config(config, model_path, image_path, save_dir='output/result', opts=None,
                        overrides=None, output_format='pseudo_color'):
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
    return predict(model, transforms, image_path, save_dir=save_dir, options=options,
                   output_format=output_format)
