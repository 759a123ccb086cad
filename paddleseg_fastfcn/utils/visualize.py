"""Pseudo-colour masks and image/mask overlays for predictions.

The palette is PaddleSeg's (``get_color_map_list``), so masks look the same as
PaddleSeg's. PaddleSeg's ``visualize`` re-reads the image from disk with
``cv2.imread`` and saves under the bare file name (losing sub-folders), so the
overlay is computed here from the decoded image instead.
"""
import cv2
import numpy as np
from paddleseg.utils.visualize import get_color_map_list, get_pseudo_color_map


def palette():
    """PaddleSeg's 256-entry palette as a flat ``[r, g, b, r, g, b, ...]`` list."""
    return get_color_map_list(256)


def pseudo_color_mask(pred, color_map=None):
    """A palette ('P' mode) PIL image of ``pred`` [H, W] (class ids < 256)."""
    return get_pseudo_color_map(np.asarray(pred, np.uint8), color_map or palette())


def overlay(image_bgr, pred, color_map=None, weight=0.6):
    """Blend an image with the colours of its predicted mask.

    Args:
        image_bgr (np.ndarray): [H, W, 3] uint8 BGR (as ``cv2.imread`` returns).
        pred (np.ndarray): [H, W] class ids.
        color_map (list | None): flat RGB palette; PaddleSeg's by default.
        weight (float): weight of the image; the mask gets ``1 - weight``.

    Returns:
        np.ndarray: [H, W, 3] uint8 BGR.
    """
    colors = np.asarray(color_map or palette(), np.uint8).reshape(-1, 3)
    mask_bgr = colors[np.asarray(pred, np.int64)][:, :, ::-1]
    return cv2.addWeighted(image_bgr, weight, np.ascontiguousarray(mask_bgr), 1 - weight, 0)
