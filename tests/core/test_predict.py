import cv2
import numpy as np
import paddleseg.transforms as T
import pytest
from PIL import Image

from paddleseg_fastfcn.core.inference_options import InferenceOptions
from paddleseg_fastfcn.core.predict import predict
from paddleseg_fastfcn.utils.batch_failures import BatchFailures
from tests.core.test_evaluate import COLORS, NearestColor


def write_colour_image(path, shape=(20, 30), mode='bgr'):
    """Left half class 0 colour, right half class 1 colour; returns the expected mask."""
    label = np.zeros(shape, np.uint8)
    label[:, shape[1] // 2:] = 1
    rgb = COLORS[label].astype(np.uint8)
    if mode == 'bgr':
        cv2.imwrite(str(path), rgb[:, :, ::-1])
    elif mode == 'rgba':
        alpha = np.full(shape + (1,), 128, np.uint8)
        cv2.imwrite(str(path), np.concatenate([rgb[:, :, ::-1], alpha], 2))
    return label


@pytest.fixture()
def model():
    m = NearestColor()
    m.eval()
    return m


def test_folder_keeps_relative_names_and_writes_mask_and_overlay(tmp_path, model):
    images = tmp_path / 'images'
    (images / 'a').mkdir(parents=True)
    (images / 'b').mkdir()
    expected = write_colour_image(images / 'a' / 'x.png')
    write_colour_image(images / 'b' / 'x.jpg')
    out = tmp_path / 'out'
    written = predict(model, T.Compose([]), str(images), save_dir=str(out))
    assert sorted(written) == [str(out / 'pseudo_color_prediction' / 'a' / 'x.png'),
                               str(out / 'pseudo_color_prediction' / 'b' / 'x.png')]
    mask = Image.open(out / 'pseudo_color_prediction' / 'a' / 'x.png')
    assert mask.mode == 'P'
    np.testing.assert_array_equal(np.asarray(mask), expected)
    blend = cv2.imread(str(out / 'added_prediction' / 'a' / 'x.png'))
    assert blend.shape == (20, 30, 3)


def test_grayscale_rgba_and_large_image_with_sliding_window(tmp_path, model):
    gray = tmp_path / 'gray.png'
    cv2.imwrite(str(gray), np.full((12, 16), 90, np.uint8))
    rgba = tmp_path / 'rgba.png'
    expected_rgba = write_colour_image(rgba, mode='rgba')
    large = tmp_path / 'large.png'
    expected_large = write_colour_image(large, shape=(50, 70))
    listing = tmp_path / 'list.txt'
    listing.write_text('gray.png\nrgba.png\n\nlarge.png\n')
    out = tmp_path / 'out'
    predict(model, T.Compose([]), str(listing), save_dir=str(out),
            options=InferenceOptions(is_slide=True, crop_size=(32, 32), stride=(24, 24)))
    masks = out / 'pseudo_color_prediction'
    assert np.asarray(Image.open(masks / 'gray.png')).shape == (12, 16)
    np.testing.assert_array_equal(np.asarray(Image.open(masks / 'rgba.png')), expected_rgba)
    np.testing.assert_array_equal(np.asarray(Image.open(masks / 'large.png')), expected_large)


def test_bad_inputs_named(tmp_path, model):
    """Reading rules are tested in tests/utils/test_image_io.py; predict passes the list line on."""
    (tmp_path / 'bad.png').write_bytes(b'garbage')
    listing = tmp_path / 'list.txt'
    listing.write_text('bad.png\n')
    with pytest.raises(BatchFailures, match=r'cannot read image file .*bad\.png \(listed at .*list\.txt:1\)'):
        predict(model, T.Compose([]), str(listing), save_dir=str(tmp_path / 'out'))
