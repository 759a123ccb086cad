"""deploy/python/infer.py on an exported EncNet+JPU model: masks equal dygraph's argmax
for mixed-size folders, oneDNN on / off, batch 1 / 2, Paddle Inference and ONNX Runtime."""
import os
import re
import shutil
import subprocess
import sys

import cv2
import numpy as np
import paddle
import pytest
from PIL import Image

from paddleseg_fastfcn.deploy.infer import main
from paddleseg_fastfcn.deploy.paddle_predictor import DeployArgumentError
from paddleseg_fastfcn.utils.batch_failures import BatchFailures
from paddleseg_fastfcn.utils.deploy_yaml import DeployConfigError
from paddleseg_fastfcn.utils.image_io import ImageReadError
from tests.deploy.exported_models import dygraph_logits, export_trained_like_model, write_variant_yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# (relative path, H, W): a same-size pair first, then a mixed-size pair.
IMAGES = [('a.png', 64, 64), ('b.png', 64, 64), ('c.jpg', 96, 80), ('sub/d.png', 72, 64)]


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    """(dygraph model, export dir with argmax model + ONNX, image folder)."""
    work = tmp_path_factory.mktemp('deploy')
    _, model, save_dir = export_trained_like_model(str(work), 'enc', 'argmax')
    rng = np.random.RandomState(0)
    image_dir = work / 'images'
    for name, h, w in IMAGES:
        path = image_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        # Smooth images: JPEG keeps them close to what was written.
        img = cv2.resize(rng.randint(0, 256, (8, 8, 3)).astype('uint8'), (w, h))
        cv2.imwrite(str(path), img)
    return model, save_dir, str(image_dir)


def expected_mask(model, image_file):
    """Dygraph argmax of the image normalised as PaddleSeg's Normalize (RGB, mean/std 0.5)."""
    rgb = cv2.cvtColor(cv2.imread(image_file), cv2.COLOR_BGR2RGB).astype('float32')
    x = ((rgb / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)[None]
    logits = dygraph_logits(model, x.astype('float32'))
    top2 = np.sort(logits, axis=1)[:, -2:]
    decided = (top2[0, 1] - top2[0, 0]) > 2e-4
    return logits[0].argmax(0), decided


def assert_masks_match_dygraph(model, image_dir, out_dir):
    for name, h, w in IMAGES:
        mask_file = os.path.join(out_dir, os.path.splitext(name)[0] + '.png')
        assert os.path.isfile(mask_file), mask_file
        mask = np.array(Image.open(mask_file))
        assert mask.shape == (h, w)
        expected, decided = expected_mask(model, os.path.join(image_dir, name))
        assert decided.mean() > 0.99
        np.testing.assert_array_equal(mask[decided], expected[decided], err_msg=name)


def infer_args(save_dir, image_path, out_dir, *extra):
    return ['--config', os.path.join(save_dir, 'deploy.yaml'), '--image_path', image_path,
            '--save_dir', out_dir, '--cpu_threads', '1', '--print_detail', 'False'] + list(extra)


@pytest.mark.parametrize('enable_mkldnn', ['True', 'False'])
@pytest.mark.parametrize('batch_size', ['1', '2'])
def test_folder_of_mixed_sizes_gives_one_correct_mask_per_image(exported, tmp_path, enable_mkldnn, batch_size):
    model, save_dir, image_dir = exported
    out_dir = str(tmp_path / 'masks')
    written = main(infer_args(save_dir, image_dir, out_dir,
                              '--enable_mkldnn', enable_mkldnn, '--batch_size', batch_size))
    assert len(written) == len(IMAGES)
    assert_masks_match_dygraph(model, image_dir, out_dir)


def test_onnxruntime_backend(exported, tmp_path):
    model, save_dir, image_dir = exported
    out_dir = str(tmp_path / 'masks')
    main(infer_args(save_dir, image_dir, out_dir, '--backend', 'onnxruntime', '--batch_size', '2'))
    assert_masks_match_dygraph(model, image_dir, out_dir)


def test_cli_script_with_image_list_and_benchmark(exported, tmp_path):
    _, save_dir, image_dir = exported
    image_list = tmp_path / 'val.list'  # PaddleSeg's TIPC lists end in .list
    image_list.write_text('{} ignored_label.png\n{}\n'.format(
        os.path.join(image_dir, 'a.png'), os.path.join(image_dir, 'c.jpg')))
    out_dir = str(tmp_path / 'masks')
    proc = subprocess.run(
        [sys.executable, os.path.join(REPO, 'deploy', 'python', 'infer.py')]
        + infer_args(save_dir, str(image_list), out_dir, '--benchmark', 'True', '--enable_mkldnn', 'True'),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert sorted(os.listdir(out_dir)) == ['a.png', 'c.png']
    for stage in ('preprocess', 'inference', 'postprocess'):
        assert '{}: '.format(stage) in proc.stdout and 'ms/image' in proc.stdout
    assert 'images/s' in proc.stdout


def test_resize_transform_is_undone_on_the_mask(exported, tmp_path):
    _, save_dir, image_dir = exported
    cfg = write_variant_yaml(save_dir, 'deploy_resize.yaml', transforms=[
        {'type': 'Resize', 'target_size': [64, 64]}, {'type': 'Normalize'}])
    out_dir = str(tmp_path / 'masks')
    main(['--config', cfg, '--image_path', os.path.join(image_dir, 'c.jpg'), '--save_dir', out_dir])
    assert np.array(Image.open(os.path.join(out_dir, 'c.png'))).shape == (96, 80)


def test_missing_deploy_yaml(tmp_path, exported, capsys):
    _, _, image_dir = exported
    with pytest.raises(SystemExit) as exit_info:
        main(['--config', str(tmp_path / 'deploy.yaml'), '--image_path', image_dir])
    assert exit_info.value.code == 2
    assert 'argument --config: file not found:' in capsys.readouterr().err


def test_missing_model_file(exported, tmp_path):
    _, save_dir, image_dir = exported
    variant = str(tmp_path / 'export')
    shutil.copytree(save_dir, variant)
    os.remove(os.path.join(variant, 'model.pdiparams'))
    with pytest.raises(DeployConfigError, match='model.pdiparams which does not exist'):
        main(infer_args(variant, image_dir, str(tmp_path / 'masks')))
    no_onnx = write_variant_yaml(save_dir, 'deploy_no_onnx.yaml', onnx_model=None)
    with pytest.raises(DeployConfigError, match='onnx_model'):
        main(['--config', no_onnx, '--image_path', image_dir, '--backend', 'onnxruntime'])


def test_onnx_file_argument_overrides_deploy_yaml(exported, tmp_path):
    model, save_dir, image_dir = exported
    onnx_copy = str(tmp_path / 'elsewhere.onnx')
    shutil.copy(os.path.join(save_dir, 'model.onnx'), onnx_copy)
    no_onnx = write_variant_yaml(save_dir, 'deploy_no_onnx2.yaml', onnx_model=None)
    out_dir = str(tmp_path / 'masks')
    main(['--config', no_onnx, '--image_path', image_dir, '--save_dir', out_dir,
          '--backend', 'onnxruntime', '--onnx_file', onnx_copy, '--print_detail', 'False'])
    assert_masks_match_dygraph(model, image_dir, out_dir)


def test_unreadable_image(exported, tmp_path, capsys):
    _, save_dir, _ = exported
    bad = tmp_path / 'broken.png'
    bad.write_bytes(b'not an image')
    with pytest.raises(BatchFailures, match=r'1 input\(s\) failed(.|\n)*cannot read image .*broken.png'):
        main(infer_args(save_dir, str(bad), str(tmp_path / 'masks')))
    with pytest.raises(SystemExit) as exit_info:
        main(infer_args(save_dir, str(tmp_path / 'absent.png'), str(tmp_path / 'masks')))
    assert exit_info.value.code == 2
    assert 'argument --image_path: no such file or folder:' in capsys.readouterr().err


def test_bad_images_among_good_ones_cost_only_their_own_masks(exported, tmp_path):
    model, save_dir, image_dir = exported
    images = tmp_path / 'images'
    shutil.copytree(image_dir, str(images))
    (images / 'broken.png').write_bytes(b'not an image')
    (images / 'sub' / 'empty.jpg').write_bytes(b'')
    listing = tmp_path / 'val.list'
    listing.write_text('images/a.png\nimages/missing.png\nimages/c.jpg\n')
    out_dir = tmp_path / 'masks'
    with pytest.raises(BatchFailures) as e:
        main(infer_args(save_dir, str(images), str(out_dir), '--batch_size', '2'))
    assert [os.path.basename(p) for p, _ in e.value.failures] == ['broken.png', 'empty.jpg']
    assert len(e.value.written) == len(IMAGES)
    assert_masks_match_dygraph(model, str(images), str(out_dir))
    assert not [n for _, _, names in os.walk(out_dir) for n in names if '.tmp' in n]
    # the script: every good image written, exit 1, the failed ones listed last on stderr
    list_out = tmp_path / 'list_masks'
    proc = subprocess.run(
        [sys.executable, os.path.join(REPO, 'deploy', 'python', 'infer.py')]
        + infer_args(save_dir, str(listing), str(list_out)),
        capture_output=True, text=True, cwd=str(tmp_path))
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert sorted(os.listdir(list_out)) == ['a.png', 'c.png']
    assert re.search(r'error: 1 input\(s\) failed .*\n  .*missing\.png: cannot read image file .*'
                     r'missing\.png \(listed at .*val\.list:2\): not found', proc.stderr)
    assert 'Traceback' not in proc.stderr


@pytest.mark.parametrize('extra,message', [
    (['--precision', 'fp16'], 'not available with --device cpu'),
    (['--precision', 'int8'], 'not available with --device cpu'),
    (['--use_trt', 'True'], 'needs --device gpu'),
    (['--backend', 'onnxruntime', '--precision', 'fp16'], 'fp32 ONNX graph only'),
])
def test_wrong_precision_or_device_for_cpu(exported, tmp_path, extra, message):
    _, save_dir, image_dir = exported
    with pytest.raises(DeployArgumentError, match=message):
        main(infer_args(save_dir, image_dir, str(tmp_path / 'masks'), *extra))


def test_unknown_precision_is_rejected_by_the_parser(exported, tmp_path, capsys):
    _, save_dir, image_dir = exported
    with pytest.raises(SystemExit):
        main(infer_args(save_dir, image_dir, str(tmp_path / 'masks'), '--precision', 'fp64'))
    assert "invalid choice: 'fp64'" in capsys.readouterr().err


@pytest.mark.skipif(paddle.device.is_compiled_with_cuda(), reason='checks the CPU-only build message')
def test_gpu_on_a_cpu_only_build(exported, tmp_path):
    _, save_dir, image_dir = exported
    with pytest.raises(DeployArgumentError, match='no CUDA support'):
        main(infer_args(save_dir, image_dir, str(tmp_path / 'masks'), '--device', 'gpu'))


def test_fixed_shape_export_refuses_only_the_images_of_another_size(tiny_exports, tmp_path):
    # Batch of 2 fixed: three 32x32 images run as a full batch and a padded one.
    model, save_dir = tiny_exports([2, 3, 32, 32])[1:]
    image_dir = tmp_path / 'images'
    image_dir.mkdir()
    rng = np.random.RandomState(0)
    sizes = {'a.png': (32, 32), 'b.png': (32, 32), 'c.png': (40, 48), 'd.png': (32, 32)}
    for name, (h, w) in sizes.items():
        cv2.imwrite(str(image_dir / name), rng.randint(0, 256, (h, w, 3)).astype('uint8'))
    out_dir = str(tmp_path / 'masks')
    with pytest.raises(BatchFailures) as info:
        main(infer_args(save_dir, str(image_dir), out_dir, '--batch_size', '2'))
    assert info.value.failures == [(str(image_dir / 'c.png'), 'the export takes 2x3x32x32, this image gives '
                                                              '1x3x40x48 after the deploy transforms')]
    assert sorted(os.listdir(out_dir)) == ['a.png', 'b.png', 'd.png']
    for name in ('a.png', 'b.png', 'd.png'):
        rgb = cv2.cvtColor(cv2.imread(str(image_dir / name)), cv2.COLOR_BGR2RGB).astype('float32')
        x = ((rgb / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)[None].astype('float32')
        np.testing.assert_array_equal(np.array(Image.open(os.path.join(out_dir, name))),
                                      dygraph_logits(model, x)[0].argmax(0))
    proc = subprocess.run([sys.executable, os.path.join(REPO, 'deploy', 'python', 'infer.py')]
                          + infer_args(save_dir, str(image_dir), str(tmp_path / 'cli')),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr
    assert '{}: the export takes 2x3x32x32, this image gives 1x3x40x48'.format(image_dir / 'c.png') in proc.stderr


def test_a_program_paddle_cannot_build_is_named_in_one_line(tiny_exports, tmp_path):
    # Well-formed JSON with intact weights, but an op Paddle does not know: the checks pass
    # it (they cannot vet ops); Paddle Inference's own error is reported with the file.
    save_dir = str(tmp_path / 'export')
    shutil.copytree(tiny_exports()[2], save_dir)
    program = os.path.join(save_dir, 'model.json')
    with open(program) as f:
        text = f.read()
    assert '"1.conv2d"' in text
    with open(program, 'w') as f:
        f.write(text.replace('"1.conv2d"', '"1.no_such_op"', 1))
    image = str(tmp_path / 'a.png')
    cv2.imwrite(image, np.zeros((16, 16, 3), np.uint8))
    proc = subprocess.run([sys.executable, os.path.join(REPO, 'deploy', 'python', 'infer.py')]
                          + infer_args(save_dir, image, str(tmp_path / 'masks')),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=str(tmp_path))
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr, proc.stderr[-2000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith('error: ')]
    assert errors == [line for line in errors if '{}: Paddle Inference cannot load it: '.format(program) in line]
    assert len(errors) == 1


def test_same_names_in_two_folders_fifo_and_bomb(exported, tmp_path, png_bomb, call_with_timeout):
    _, save_dir, image_dir = exported
    images = tmp_path / 'images'
    for sub, source in (('x', 'a.png'), ('y', 'b.png')):
        (images / sub).mkdir(parents=True)
        shutil.copy(os.path.join(image_dir, source), str(images / sub / 'a.png'))
    os.mkfifo(str(images / 'pipe.png'))
    os.symlink(png_bomb, str(images / 'bomb.png'))
    listing = tmp_path / 'val.list'
    listing.write_text('images/x/a.png\r\n\r\nimages/y/a.png  ignored_label.png\r\nimages/pipe.png\r\n')
    for source, out_dir in ((images, tmp_path / 'from_folder'), (listing, tmp_path / 'from_list')):
        with pytest.raises(BatchFailures) as e:
            call_with_timeout(main, infer_args(save_dir, str(source), str(out_dir)), timeout=120)
        assert sorted(os.path.relpath(p, str(out_dir)) for p in e.value.written) == ['x/a.png', 'y/a.png']
        failed = {os.path.basename(p): reason for p, reason in e.value.failures}
        assert 'is a FIFO (named pipe), not a regular file' in failed.pop('pipe.png')
        if source == images:
            assert 'image 14000 x 14000 pixels (196,000,000) exceeds the cap of 89,478,485' in failed.pop('bomb.png')
        assert not failed
