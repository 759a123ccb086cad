"""deploy/python/infer.py --save_npy / --is_slide on a logits export: the saved scores are
dygraph's (core.inference) on the same input, within 1e-4 (float32 rounding of the
runtimes' kernels, measured ~1e-5 on logits of a few units), at the original image size."""
import os

import cv2
import numpy as np
import paddle
import paddle.nn.functional as F
import pytest
from PIL import Image

from paddleseg_fastfcn.core.inference import predict_logits, slide_inference
from paddleseg_fastfcn.deploy.exported_logits import ArgmaxExportError
from paddleseg_fastfcn.deploy.images import preprocess
from paddleseg_fastfcn.deploy.infer import main
from paddleseg_fastfcn.utils.deploy_yaml import DeployConfig
from tests.deploy.exported_models import NUM_CLASSES, export_trained_like_model, write_variant_yaml

# Larger than the 64x64 window on both axes: 2 x 2 windows, overlapping unevenly.
HEIGHT, WIDTH = 96, 80
CROP, STRIDE = (64, 64), (48, 40)
SLIDE_ARGS = ['--is_slide', '--crop_size', '64', '64', '--stride', '48', '40']


@pytest.fixture(scope='module')
def logits_export(tmp_path_factory):
    """(dygraph model, logits export dir with ONNX, image file)."""
    work = tmp_path_factory.mktemp('infer_scores')
    _, model, save_dir = export_trained_like_model(str(work), 'enc', 'none')
    image = str(work / 'big.png')
    rng = np.random.RandomState(1)
    cv2.imwrite(image, cv2.resize(rng.randint(0, 256, (8, 8, 3)).astype('uint8'), (WIDTH, HEIGHT)))
    return model, save_dir, image


def infer(deploy_yaml, image, out_dir, *extra):
    main(['--config', deploy_yaml, '--image_path', image, '--save_dir', out_dir, '--cpu_threads', '1',
          '--print_detail', 'False'] + list(extra))
    return np.load(os.path.join(out_dir, 'big.npy'))


def prepared(deploy_yaml, image):
    """The image as infer.py preprocesses it: ``(Tensor [1, 3, H', W'], trans_info)``."""
    img, trans_info, _ = preprocess(image, DeployConfig(deploy_yaml).transforms)
    return paddle.to_tensor(img[np.newaxis]), trans_info


@pytest.mark.parametrize('backend', [['--enable_mkldnn', 'True'], ['--enable_mkldnn', 'False'],
                                     ['--backend', 'onnxruntime']], ids=['onednn', 'paddle', 'onnxruntime'])
def test_sliding_window_logits_equal_dygraph_sliding_window(logits_export, tmp_path, backend):
    model, save_dir, image = logits_export
    deploy_yaml = os.path.join(save_dir, 'deploy.yaml')
    got = infer(deploy_yaml, image, str(tmp_path), '--save_npy', 'logits', *(SLIDE_ARGS + backend))
    im, _ = prepared(deploy_yaml, image)
    with paddle.no_grad():
        expected = slide_inference(model, im, CROP, STRIDE).numpy()[0]
    assert got.shape == (NUM_CLASSES, HEIGHT, WIDTH) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)
    # Windows matter: the whole-image logits differ from the slid ones.
    assert np.abs(got - model(im)[0].numpy()[0]).max() > 1e-2
    mask = np.array(Image.open(os.path.join(str(tmp_path), 'big.png')))
    np.testing.assert_array_equal(mask, got.argmax(0))  # the mask is the saved scores' argmax


def test_probabilities_in_float16_at_the_original_size(logits_export, tmp_path):
    model, save_dir, image = logits_export
    # A resize in the deploy transforms: the scores must come back at 96 x 80.
    deploy_yaml = write_variant_yaml(save_dir, 'deploy_resize.yaml', transforms=[
        {'type': 'Resize', 'target_size': [64, 64]}, {'type': 'Normalize'}])
    got = infer(deploy_yaml, image, str(tmp_path), '--save_npy', 'probs', '--npy_float16')
    assert got.shape == (NUM_CLASSES, HEIGHT, WIDTH) and got.dtype == np.float16
    im, trans_info = prepared(deploy_yaml, image)
    assert im.shape[-2:] == [64, 64]
    expected = F.softmax(predict_logits(model, im, trans_info), axis=1).numpy()[0]
    np.testing.assert_allclose(got.astype('float32'), expected, rtol=0, atol=2e-3)  # float16: ~3 digits
    np.testing.assert_allclose(got.astype('float32').sum(0), 1.0, atol=5e-3)


def test_what_the_export_cannot_give_is_refused(logits_export, tmp_path):
    _, save_dir, image = logits_export
    argmax_yaml = write_variant_yaml(save_dir, 'deploy_argmax.yaml', output_op='argmax')
    for extra in (SLIDE_ARGS, ['--save_npy', 'probs']):
        with pytest.raises(ArgmaxExportError, match='--output_op none'):
            infer(argmax_yaml, image, str(tmp_path), *extra)
    softmax_yaml = write_variant_yaml(save_dir, 'deploy_softmax.yaml', output_op='softmax')
    with pytest.raises(ValueError, match='--save_npy probs'):
        infer(softmax_yaml, image, str(tmp_path), '--save_npy', 'logits')
    with pytest.raises(ValueError, match='needs crop_size and stride'):
        infer(os.path.join(save_dir, 'deploy.yaml'), image, str(tmp_path), '--is_slide')
