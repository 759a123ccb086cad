import os

import cv2
import numpy as np
import paddleseg.transforms as T
import pytest
from PIL import Image

from paddleseg_fastfcn.core.inference_options import InferenceOptions
from paddleseg_fastfcn.core.predict import predict
from paddleseg_fastfcn.utils.atomic_write import DiskWriteError
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


class ManyClassNearestColor(NearestColor):
    """150 classes: COLORS at ids 5, 77 and 149, dim greys (never nearest) elsewhere."""
    IDS = (5, 77, 149)

    def __init__(self, num_classes=150):
        colors = np.stack([np.full(3, 2.0 * (k % 20), np.float32) for k in range(num_classes)])
        colors[list(self.IDS)] = COLORS
        super().__init__(colors)


def test_ade20k_submission_writes_class_id_plus_one_named_as_the_images(tmp_path):
    images = tmp_path / 'images'
    (images / 'sub').mkdir(parents=True)
    expected = write_colour_image(images / 'ADE_test_00000001.jpg', shape=(20, 30))
    write_colour_image(images / 'sub' / 'ADE_test_00000002.png', shape=(16, 24))
    model = ManyClassNearestColor()
    model.eval()
    out = tmp_path / 'out'
    written = predict(model, T.Compose([]), str(images), save_dir=str(out),
                      output_format='ade20k_submission')
    sub = out / 'ade20k_submission'
    assert sorted(written) == [str(sub / 'ADE_test_00000001.png'),
                               str(sub / 'sub' / 'ADE_test_00000002.png')]
    assert not (out / 'pseudo_color_prediction').exists() and not (out / 'added_prediction').exists()
    with Image.open(sub / 'ADE_test_00000001.png') as im:
        assert im.mode == 'L'
        values = np.asarray(im)
    # argmax + 1: class 5 (left half) -> 6, class 77 (right half) -> 78.
    ids = np.array(ManyClassNearestColor.IDS)[expected]
    np.testing.assert_array_equal(values, ids + 1)
    with Image.open(sub / 'sub' / 'ADE_test_00000002.png') as im:
        assert im.size == (24, 16)


def test_ade20k_submission_needs_150_classes(tmp_path, model):
    write_colour_image(tmp_path / 'x.png')
    with pytest.raises(ValueError, match='needs a 150-class ADE20K model; this one predicts 3'):
        predict(model, T.Compose([]), str(tmp_path / 'x.png'), save_dir=str(tmp_path / 'out'),
                output_format='ade20k_submission')
    assert not (tmp_path / 'out' / 'ade20k_submission').exists()
    with pytest.raises(ValueError, match='output_format must be one of'):
        predict(model, T.Compose([]), str(tmp_path / 'x.png'), output_format='ade20k')


def test_ade20k_submission_follows_the_batch_rule_and_writes_atomically(tmp_path, monkeypatch):
    images = tmp_path / 'images'
    images.mkdir()
    write_colour_image(images / 'a.png')
    (images / 'b.png').write_bytes(b'garbage')
    write_colour_image(images / 'c.png')
    model = ManyClassNearestColor()
    out = tmp_path / 'out'
    with pytest.raises(BatchFailures, match=r'1 input\(s\) failed[\s\S]*b\.png: cannot read image file') as e:
        predict(model, T.Compose([]), str(images), save_dir=str(out), output_format='ade20k_submission')
    sub = out / 'ade20k_submission'
    assert e.value.written == [str(sub / 'a.png'), str(sub / 'c.png')]
    assert sorted(p.name for p in sub.iterdir()) == ['a.png', 'c.png']  # no temporaries

    def full_disk(path, image):
        with open(path, 'wb') as f:
            f.write(b'\x89PNG partial')
        return False  # what cv2.imwrite does when the disk is full
    monkeypatch.setattr(cv2, 'imwrite', full_disk)
    with pytest.raises(DiskWriteError, match=r'cannot write ADE20K submission PNG to .*a\.png'):
        predict(model, T.Compose([]), str(images / 'a.png'), save_dir=str(tmp_path / 'full'),
                output_format='ade20k_submission')
    assert list((tmp_path / 'full' / 'ade20k_submission').iterdir()) == []


def test_hostile_inputs_are_refused_by_name_and_the_others_predicted(tmp_path, model, png_bomb, call_with_timeout):
    images = tmp_path / 'images'
    (images / 'x').mkdir(parents=True)
    (images / 'y').mkdir()
    write_colour_image(images / 'x' / 'a.png')
    write_colour_image(images / 'y' / 'a.png')  # same file name, another folder: its own output
    write_colour_image(images / 'd.jpg')
    write_colour_image(images / 'd.png')  # d.jpg and d.png would both write d.png
    os.mkfifo(str(images / 'pipe.png'))  # never opened (reading would block)
    os.symlink(png_bomb, str(images / 'bomb.png'))
    out = tmp_path / 'out'
    with pytest.raises(BatchFailures) as e:
        call_with_timeout(predict, model, T.Compose([]), str(images), save_dir=str(out), timeout=120)
    reasons = {os.path.relpath(p, str(images)): r for p, r in e.value.failures}
    assert sorted(reasons) == ['bomb.png', 'd.jpg', 'd.png', 'pipe.png']
    assert 'refused: its header declares image 14000 x 14000 pixels (196,000,000) exceeds the cap' \
        in reasons['bomb.png']
    assert 'is a FIFO (named pipe), not a regular file' in reasons['pipe.png']
    assert "map to one output name 'd'; both refused" in reasons['d.jpg']
    masks = out / 'pseudo_color_prediction'
    assert sorted(os.path.relpath(p, str(masks)) for p in e.value.written) == ['x/a.png', 'y/a.png']
    # a list entry climbing out of the list's folder is mirrored under save_dir, never written outside it
    (tmp_path / 'lists').mkdir()
    listing = tmp_path / 'lists' / 'l.txt'
    listing.write_text('../images/x/a.png\n{}\n'.format(images / 'y' / 'a.png'))
    before = sorted(str(p) for p in tmp_path.rglob('*'))
    written = predict(model, T.Compose([]), str(listing), save_dir=str(tmp_path / 'out2'))
    assert sorted(os.path.relpath(p, str(tmp_path / 'out2')) for p in written) == [
        'pseudo_color_prediction/x/a.png', 'pseudo_color_prediction/y/a.png']
    new = sorted(set(str(p) for p in tmp_path.rglob('*')) - set(before))
    assert all(p.startswith(str(tmp_path / 'out2')) for p in new), new
