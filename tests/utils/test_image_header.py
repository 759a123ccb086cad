"""utils.image_header: a regular file, the header read, the pixel cap checked before decoding."""
import os

import numpy as np
import pytest
from PIL import Image

from paddleseg_fastfcn.utils.image_header import ImageReadError, image_header, open_image
from paddleseg_fastfcn.utils.limits import LimitExceeded

# Bounds that hold on any machine: cv2.imread of the bomb grows RSS by ~1.1 GB.
RSS_BOUND_KB = 400 * 1024
WALL_BOUND_S = 30


def test_a_200_kb_png_of_196_mpixels_is_refused_before_decoding(png_bomb, run_measured):
    bomb = png_bomb
    assert os.path.getsize(bomb) < 256 * 1024
    # read_image: what predict.py and deploy infer decode every image with.
    result = run_measured('from paddleseg_fastfcn.utils.image_io import read_image',
                          'read_image({!r}, "list.txt:3")'.format(bomb))
    assert result['outcome'].startswith('LimitExceeded: {} (listed at list.txt:3): refused: its header declares '
                                        'image 14000 x 14000 pixels (196,000,000) exceeds the cap of 89,478,485 '
                                        'pixels'.format(bomb)), result
    assert 'PADDLESEG_FASTFCN_MAX_IMAGE_PIXELS' in result['outcome']
    assert result['rss_growth_kb'] < RSS_BOUND_KB and result['seconds'] < WALL_BOUND_S, result


def test_the_cap_comes_from_the_environment_at_each_check(tmp_path, monkeypatch, png_bomb):
    path = str(tmp_path / 'small.png')
    Image.fromarray(np.zeros((20, 30), np.uint8)).save(path)
    assert image_header(path, 'label') == ((30, 20), 'L')
    monkeypatch.setenv('PADDLESEG_FASTFCN_MAX_IMAGE_PIXELS', '599')
    with pytest.raises(LimitExceeded, match=r'small\.png: refused: its header declares label 30 x 20 pixels '
                                            r'\(600\) exceeds the cap of 599'):
        image_header(path, 'label')
    # above Pillow's own bomb threshold (2 x its MAX_IMAGE_PIXELS): the project's cap decides
    monkeypatch.setenv('PADDLESEG_FASTFCN_MAX_IMAGE_PIXELS', '1000000000')
    with open_image(png_bomb) as im:
        assert im.size == (14000, 14000)
    assert Image.MAX_IMAGE_PIXELS == 89478485  # Pillow's own check is back


def test_fifo_folder_and_missing_file_are_refused_without_opening(tmp_path, call_with_timeout):
    fifo = str(tmp_path / 'pipe.png')
    os.mkfifo(fifo)  # opening it for reading would block until a writer comes
    with pytest.raises(ImageReadError, match=r'image file .*pipe\.png \(listed at l\.txt:2\) is a FIFO '
                                             r'\(named pipe\), not a regular file'):
        call_with_timeout(open_image, fifo, 'image', 'l.txt:2', timeout=30)
    with pytest.raises(ImageReadError, match='label file .* is a folder, not a regular file'):
        open_image(str(tmp_path), 'label')
    with pytest.raises(ImageReadError, match=r'cannot read image file .*gone\.png: not found'):
        open_image(str(tmp_path / 'gone.png'))
    (tmp_path / 'text.png').write_text('not an image')
    with pytest.raises(ImageReadError, match=r'cannot read image file .*text\.png: cannot identify'):
        open_image(str(tmp_path / 'text.png'))
