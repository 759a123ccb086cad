"""utils.image_io: one rule for --image_path (file / folder / list) and one decoder."""
import cv2
import numpy as np
import paddleseg.transforms as T
import pytest

from paddleseg_fastfcn.utils.image_io import ImageReadError, collect_images, read_image


def write(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), array)
    return str(path)


def test_a_single_file_and_a_recursive_sorted_folder(tmp_path):
    b = write(tmp_path / 'imgs' / 'sub' / 'b.jpg', np.zeros((4, 4, 3), np.uint8))
    a = write(tmp_path / 'imgs' / 'a.PNG', np.zeros((4, 4, 3), np.uint8))
    (tmp_path / 'imgs' / 'notes.txt').write_text('not an image')
    folder = collect_images(str(tmp_path / 'imgs'))
    assert folder.paths == sorted([a, b]) and folder.base == str(tmp_path / 'imgs')
    assert folder.origins == [None, None]
    single = collect_images(a)
    assert single.paths == [a] and single.base == str(tmp_path / 'imgs')


@pytest.mark.parametrize('list_name', ['val.txt', 'val.list'])
def test_list_file_first_field_relative_to_the_list(tmp_path, list_name):
    a = write(tmp_path / 'data' / 'a.png', np.zeros((4, 4, 3), np.uint8))
    absolute = write(tmp_path / 'elsewhere' / 'c.png', np.zeros((4, 4, 3), np.uint8))
    listing = tmp_path / 'data' / list_name
    listing.write_text('a.png labels/a.png\n\n{}\n'.format(absolute))
    images = collect_images(str(listing))
    assert images.paths == [a, absolute]
    assert images.base == str(tmp_path)  # the deepest folder holding every listed image
    assert images.origins == ['{}:1'.format(listing), '{}:3'.format(listing)]


def test_missing_inputs_are_named_with_the_list_line(tmp_path):
    with pytest.raises(ImageReadError, match='--image_path not found: .*nowhere'):
        collect_images(str(tmp_path / 'nowhere'))
    (tmp_path / 'empty').mkdir()
    with pytest.raises(ImageReadError, match='contains no image'):
        collect_images(str(tmp_path / 'empty'))
    listing = tmp_path / 'list.txt'
    listing.write_text('\nmissing.png\n')
    images = collect_images(str(listing))  # a batch run reports it with the other failures
    with pytest.raises(ImageReadError, match=r'missing\.png \(listed at .*list\.txt:2\): not found'):
        read_image(images.paths[0], images.origins[0])


def test_unreadable_image_is_named_with_the_list_line(tmp_path):
    (tmp_path / 'bad.png').write_bytes(b'garbage')
    listing = tmp_path / 'list.list'
    listing.write_text('bad.png\n')
    images = collect_images(str(listing))
    with pytest.raises(ImageReadError, match=r'cannot read image file .*bad\.png \(listed at .*list\.list:1\)'):
        read_image(images.paths[0], images.origins[0])
    with pytest.raises(ImageReadError, match='cannot read image file .*gone.png: not found'):
        read_image(str(tmp_path / 'gone.png'))


def test_decoding_16_bit_gray_and_rgba_gives_8_bit_bgr_as_paddleseg_datasets_read(tmp_path):
    deep = np.zeros((6, 8, 3), np.uint16)
    deep[..., 0], deep[..., 1], deep[..., 2] = 65535, 256, 257 * 10
    img = read_image(write(tmp_path / 'deep.png', deep))
    assert img.dtype == np.uint8 and img.shape == (6, 8, 3)
    assert (img[..., 0] == 255).all() and (img[..., 1] == 1).all() and (img[..., 2] == 10).all()
    gray = read_image(write(tmp_path / 'gray.png', np.full((5, 7), 90, np.uint8)))
    assert gray.shape == (5, 7, 3) and (gray == 90).all()
    gray16 = read_image(write(tmp_path / 'gray16.png', np.full((5, 7), 257 * 3, np.uint16)))
    assert gray16.shape == (5, 7, 3) and (gray16 == 3).all()
    bgra = np.zeros((4, 6, 4), np.uint8)
    bgra[..., 1], bgra[..., 3] = 200, 0  # fully transparent: colour is kept, alpha dropped
    rgba = write(tmp_path / 'rgba.png', bgra)
    img = read_image(rgba)
    assert img.shape == (4, 6, 3) and (img[..., 1] == 200).all() and (img[..., [0, 2]] == 0).all()
    # PaddleSeg's Compose (train / val dataset reading) decodes every one of them the same way
    compose = T.Compose([], to_rgb=False)
    for name in ('deep.png', 'gray.png', 'gray16.png', 'rgba.png'):
        path = str(tmp_path / name)
        np.testing.assert_array_equal(compose({'img': path})['img'].transpose(1, 2, 0), read_image(path))
