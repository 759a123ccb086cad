"""tools/data/prepare_custom.py: pairing, the seeded split, the histogram, palettes and refusals."""
import os
import shutil

import numpy as np

from paddleseg_fastfcn.datasets.prepare.custom import split_pairs
from tests.tools.data.replicas import read_png, run_tool, write_image, write_mask

MASK = np.array([[0, 1, 2, 255], [2, 2, 1, 0]])


def make_folders(root, n=5):
    for i in range(n):
        write_image(root / 'images' / 'img{}.jpg'.format(i), 4, 2, seed=i)
        write_mask(root / 'masks' / 'img{}.png'.format(i), MASK)
    (root / 'classes.txt').write_text('background\nroad\ncar\n')
    return root


def test_lists_split_and_histogram(tmp_path, capsys):
    root = make_folders(tmp_path / 'mine')
    argv = ['--images', root / 'images', '--masks', root / 'masks', '--class_names', root / 'classes.txt',
            '--out', root, '--val_fraction', '0.4', '--seed', '3']
    code, out, err = run_tool('prepare_custom', argv, capsys)
    print(out)
    assert code == 0, err
    train = (root / 'train.txt').read_text().splitlines()
    val = (root / 'val.txt').read_text().splitlines()
    assert len(train) == 3 and len(val) == 2
    assert sorted(train + val) == ['images/img{0}.jpg masks/img{0}.png'.format(i) for i in range(5)]
    assert 'images: train 3, val 2 (5 in total)' in out
    assert 'classes seen: 3 of 3: 0-2' in out
    assert '0 background: 10 px' in out and '1 road: 10 px' in out and '2 car: 15 px' in out
    assert '255 ignore: 5 px' in out
    # Same inputs and seed -> same lists; another seed -> another split of the same pairs.
    run_tool('prepare_custom', argv, capsys)
    assert (root / 'val.txt').read_text().splitlines() == val
    pairs = [('a', 1), ('b', 2), ('c', 3), ('d', 4), ('e', 5)]
    splits = {tuple(split_pairs(pairs, 0.4, seed)[1]) for seed in range(10)}
    assert len(splits) > 1


def test_every_bad_file_is_named(tmp_path, capsys):
    root = make_folders(tmp_path / 'mine', n=6)
    write_mask(root / 'masks' / 'img0.png', [[0, 3, 7, 255], [0, 0, 0, 0]])              # 3, 7: no class
    write_mask(root / 'masks' / 'img1.png', np.zeros((3, 4)))                            # size mismatch
    write_mask(root / 'masks' / 'img2.png', np.zeros((2, 4, 3)), mode='RGB')             # colour mask
    (root / 'masks' / 'img3.png').write_bytes(b'\x89PNG truncated')                      # unreadable
    (root / 'images' / 'img4.jpg').unlink()                                              # mask alone
    (root / 'images' / 'notes.txt').write_text('not an image')
    os.mkfifo(str(root / 'images' / 'pipe.jpg'))                                         # never opened
    code, out, err = run_tool('prepare_custom', ['--images', root / 'images', '--masks', root / 'masks',
                                                 '--num_classes', 3, '--out', root], capsys)
    assert code == 1
    assert '5 input(s) failed' in err
    assert 'img0.png holds class value(s) [3, 7]' in err
    assert 'sizes differ' in err and 'img1.png is 4x3' in err
    assert 'img2.png is a 3-channel (colour) image' in err
    assert 'cannot read label file' in err and 'img3.png' in err
    assert 'img4.png: no image named img4.*' in err
    assert 'notes.txt: not an image file' in out and 'pipe.jpg: not a regular file' in out
    assert (root / 'train.txt').read_text() + (root / 'val.txt').read_text() == \
        'images/img5.jpg masks/img5.png\n'
    assert 'the lists hold only the pairs that passed every check' in out


def test_palette_converts_colour_masks_exactly(tmp_path, capsys):
    root = tmp_path / 'mine'
    (root).mkdir()
    (root / 'palette.txt').write_text('# class colours\n0 0 0\n128, 0, 0\n0 128 0\n')
    black, red, green, white = (0, 0, 0), (128, 0, 0), (0, 128, 0), (255, 255, 255)
    write_image(root / 'images' / 'a.jpg', 3, 2)
    write_mask(root / 'masks' / 'a.png', [[black, red, green], [white, green, red]], mode='RGB')
    write_image(root / 'images' / 'b.jpg', 3, 2)
    write_mask(root / 'masks' / 'b.png', [[black, (1, 2, 3), black], [black, black, black]], mode='RGB')
    code, out, err = run_tool('prepare_custom', [
        '--images', root / 'images', '--masks', root / 'masks', '--palette', root / 'palette.txt',
        '--ignore_color', '255,255,255', '--out', root / 'prepared', '--val_fraction', 0], capsys)
    assert code == 1
    np.testing.assert_array_equal(read_png(root / 'prepared' / 'class_id_masks' / 'a.png'), [[0, 1, 2], [255, 2, 1]])
    assert 'b.png holds 1 pixel(s) of colour(s) not in the palette: (1, 2, 3)' in err
    assert (root / 'prepared' / 'train.txt').read_text() == '../images/a.jpg class_id_masks/a.png\n'
    assert 'labels: 1 read and checked, 1 written' in out


def test_from_a_list_and_the_class_count_must_agree(tmp_path, capsys):
    root = make_folders(tmp_path / 'mine', n=2)
    (root / 'all.txt').write_text('images/img0.jpg masks/img0.png\nimages/img1.jpg\n')
    code, out, err = run_tool('prepare_custom', ['--list', root / 'all.txt', '--num_classes', 3, '--out', root,
                                                 '--val_fraction', 0], capsys)
    assert code == 1 and 'all.txt:2: expected "image mask", found one path' in err
    assert (root / 'train.txt').read_text() == 'images/img0.jpg masks/img0.png\n'
    code, _, err = run_tool('prepare_custom', ['--list', root / 'all.txt', '--num_classes', 4,
                                               '--class_names', root / 'classes.txt', '--out', root], capsys)
    assert code == 1 and 'the class counts disagree: --num_classes 4, --class_names 3' in err


def test_a_read_only_output_folder_is_one_clear_error(tmp_path, capsys, small_filesystem):
    root = make_folders(tmp_path / 'mine', n=2)
    out = small_filesystem('1m')
    small_filesystem.read_only(out)
    code, _, err = run_tool('prepare_custom', ['--images', root / 'images', '--masks', root / 'masks',
                                               '--num_classes', 3, '--out', out], capsys)
    assert code == 1
    assert 'error: cannot write ' in err and '(EROFS)' in err and 'mounted read-only' in err
    assert 'Traceback' not in err


def test_converted_masks_mirror_their_folders_and_a_bomb_is_one_failure(tmp_path, capsys, png_bomb):
    root = tmp_path / 'mine'
    root.mkdir()
    (root / 'palette.txt').write_text('0 0 0\n128 0 0\n')
    black, red = (0, 0, 0), (128, 0, 0)
    for sub, colours in (('x', [[black, red]]), ('y', [[red, red]])):
        write_image(root / 'images' / sub / 'm.jpg', 2, 1)
        write_mask(root / 'masks' / sub / 'm.png', colours, mode='RGB')  # one name, two folders
    shutil.copy(png_bomb, str(root / 'images' / 'bomb.png'))
    write_mask(root / 'masks' / 'bomb.png', [[black]], mode='RGB')
    (root / 'all.txt').write_text('images/x/m.jpg masks/x/m.png\r\n\r\nimages/y/m.jpg\tmasks/y/m.png\r\n'
                                  'images/bomb.png masks/bomb.png\r\n')
    code, out, err = run_tool('prepare_custom', ['--list', root / 'all.txt', '--palette', root / 'palette.txt',
                                                 '--out', root / 'prepared', '--val_fraction', 0], capsys)
    assert code == 1
    assert '1 input(s) failed' in err and 'bomb.png: refused: its header declares image 14000 x 14000' in err
    converted = root / 'prepared' / 'class_id_masks'
    np.testing.assert_array_equal(read_png(converted / 'x' / 'm.png'), [[0, 1]])
    np.testing.assert_array_equal(read_png(converted / 'y' / 'm.png'), [[1, 1]])
    (root / 'all.txt').write_text('images/x/m.jpg masks/x/m.png extra\n')
    code, _, err = run_tool('prepare_custom', ['--list', root / 'all.txt', '--num_classes', 2, '--out', root],
                            capsys)
    assert code == 1 and 'all.txt:1: expected "image [label]" (1-2 field(s) separated by spaces or tabs), ' \
                         'found 3 field(s)' in err
