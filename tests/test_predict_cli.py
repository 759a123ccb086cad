import os
import subprocess
import sys

import cv2
import numpy as np
import paddle
from PIL import Image

from paddleseg_fastfcn.core.builder import build_model, load_config
from paddleseg_fastfcn.datasets.synthetic import draw_sample, write_dataset
from tests.datasets.helpers import mini_dataset_section, write_config

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _config_and_weights(tmp_path):
    root = str(tmp_path / 'mini')
    write_dataset(root, num_train=1, num_val=1, size=32)
    cfg = write_config(tmp_path / 'fastscnn.yml', mini_dataset_section(root, 'train'),
                       mini_dataset_section(root, 'val'))
    paddle.seed(0)
    weights = str(tmp_path / 'model.pdparams')
    paddle.save(build_model(load_config(cfg)).state_dict(), weights)
    return cfg, weights


def test_predict_cli_gray_rgba_large_and_missing_model(tmp_path):
    cfg, weights = _config_and_weights(tmp_path)
    images = tmp_path / 'images'
    (images / 'sub').mkdir(parents=True)
    rgb, _ = draw_sample(0, 'validation', 0, size=32)
    cv2.imwrite(str(images / 'gray.png'), cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
    cv2.imwrite(str(images / 'sub' / 'rgba.png'),
                np.dstack([rgb[:, :, ::-1], np.full((32, 32), 200, np.uint8)]))
    large, _ = draw_sample(0, 'validation', 1, size=96)
    cv2.imwrite(str(images / 'large.jpg'), large[:, :, ::-1][:, :80])  # 96x80, larger than the window

    out = tmp_path / 'out'
    res = subprocess.run([sys.executable, os.path.join(REPO, 'predict.py'), '--config', cfg,
                          '--model_path', weights, '--image_path', str(images), '--save_dir', str(out),
                          '--is_slide', '--crop_size', '48', '48', '--stride', '32', '32'],
                         capture_output=True, text=True, cwd=REPO)
    assert res.returncode == 0, res.stderr
    expected = {'gray': (32, 32), os.path.join('sub', 'rgba'): (32, 32), 'large': (96, 80)}
    for rel, shape in expected.items():
        mask = Image.open(out / 'pseudo_color_prediction' / (rel + '.png'))
        assert mask.mode == 'P' and np.asarray(mask).shape == shape
        assert np.asarray(mask).max() < 5
        assert cv2.imread(str(out / 'added_prediction' / (rel + '.png'))).shape == shape + (3,)

    res = subprocess.run([sys.executable, os.path.join(REPO, 'predict.py'), '--config', cfg,
                          '--model_path', str(tmp_path / 'none.pdparams'), '--image_path', str(images)],
                         capture_output=True, text=True, cwd=REPO)
    assert res.returncode == 2 and 'argument --model_path: file not found:' in res.stderr
    assert 'none.pdparams' in res.stderr

    # The ADE20K test-server format is refused for a 5-class model, before writing.
    res = subprocess.run([sys.executable, os.path.join(REPO, 'predict.py'), '--config', cfg,
                          '--model_path', weights, '--image_path', str(images / 'gray.png'),
                          '--save_dir', str(tmp_path / 'sub_out'), '--output_format', 'ade20k_submission'],
                         capture_output=True, text=True, cwd=REPO)
    assert res.returncode == 1 and 'needs a 150-class ADE20K model; this one predicts 5' in res.stderr
    assert not (tmp_path / 'sub_out' / 'ade20k_submission').exists()



def test_bad_images_among_good_ones_are_listed_after_the_good_ones_are_written(tmp_path):
    cfg, weights = _config_and_weights(tmp_path)
    images = tmp_path / 'images'
    (images / 'sub').mkdir(parents=True)
    rgb, _ = draw_sample(0, 'validation', 0, size=32)
    for name in ('a.png', 'sub/c.png'):
        cv2.imwrite(str(images / name), rgb[:, :, ::-1])
    (images / 'b.png').write_bytes(b'not an image')       # garbage
    (images / 'sub' / 'd.jpg').write_bytes(b'')           # empty file
    cv2.imwrite(str(images / 'e.jpg'), rgb[:, :, ::-1])
    (images / 'e.jpg').write_bytes((images / 'e.jpg').read_bytes()[:200])  # truncated JPEG
    os.mkfifo(str(images / 'f.png'))                      # a FIFO: reading it would block forever
    out = tmp_path / 'out'
    res = subprocess.run([sys.executable, os.path.join(REPO, 'predict.py'), '--config', cfg,
                          '--model_path', weights, '--image_path', str(images), '--save_dir', str(out)],
                         capture_output=True, text=True, cwd=REPO, timeout=300)
    assert res.returncode == 1, res.stderr[-2000:]
    assert 'Traceback' not in res.stderr
    tail = res.stderr[res.stderr.index('error: 4 input(s) failed'):].splitlines()
    assert [line.split(': ')[0].strip() for line in tail[1:]] == [
        str(images / 'b.png'), str(images / 'e.jpg'), str(images / 'f.png'), str(images / 'sub' / 'd.jpg')]
    assert all('cannot read image file' in line for i, line in enumerate(tail[1:]) if i != 2)
    assert tail[3].endswith('f.png is a FIFO (named pipe), not a regular file')
    for folder in ('pseudo_color_prediction', 'added_prediction'):
        written = sorted(os.path.relpath(os.path.join(d, n), out / folder)
                         for d, _, names in os.walk(out / folder) for n in names)
        assert written == ['a.png', os.path.join('sub', 'c.png')]  # complete files only, no temporaries
        for rel in written:
            assert np.asarray(Image.open(out / folder / rel)).shape[:2] == (32, 32)


def test_a_full_disk_stops_predict_with_what_and_how_much_space(tmp_path, monkeypatch, capsys):
    import errno

    import predict as predict_cli
    cfg, weights = _config_and_weights(tmp_path)
    images = tmp_path / 'images'
    images.mkdir()
    rgb, _ = draw_sample(0, 'validation', 0, size=32)
    cv2.imwrite(str(images / 'a.png'), rgb[:, :, ::-1])

    def full_disk(self, fp, *args, **kwargs):
        with open(fp, 'wb') as f:
            f.write(b'\x89PNG partial')
        raise OSError(errno.ENOSPC, 'No space left on device (injected)')
    monkeypatch.setattr(Image.Image, 'save', full_disk)
    out = tmp_path / 'out'
    assert predict_cli.main(['--config', cfg, '--model_path', weights, '--image_path', str(images),
                             '--save_dir', str(out)]) == 1
    err = capsys.readouterr().err
    assert 'cannot write mask to {}'.format(out / 'pseudo_color_prediction' / 'a.png') in err
    assert 'No space left on device (injected) (ENOSPC)' in err and 'free on that file system: ' in err
    assert [n for _, _, names in os.walk(out) for n in names] == []  # the partial temporary is gone
