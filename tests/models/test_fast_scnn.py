"""ExportableFastSCNN is PaddleSeg's FastSCNN: same parameter names, same outputs and
gradients in dygraph (the export parity is in tests/core/test_export.py)."""
import numpy as np
import paddle
import pytest
from paddleseg.cvlibs import manager
from paddleseg.models import FastSCNN

from paddleseg_fastfcn.models.segmentors import ExportableFastSCNN
from tests.deploy.exported_models import randomize_norm_statistics

NUM_CLASSES = 4
# 64x64 gives a 2x2 pyramid pooling input (bins 3 and 6 upsample it), 96x80 3x3,
# 64x32 2x1, 100x70 a non-multiple of 32.
SIZES = [(64, 64), (96, 80), (64, 32), (100, 70)]


@pytest.fixture(scope='module')
def pair():
    """(PaddleSeg's FastSCNN, ExportableFastSCNN) holding the same weights."""
    paddle.seed(0)
    theirs = FastSCNN(NUM_CLASSES, enable_auxiliary_loss=True)
    randomize_norm_statistics(theirs)
    ours = ExportableFastSCNN(NUM_CLASSES, enable_auxiliary_loss=True)
    ours.set_state_dict(theirs.state_dict())
    return theirs, ours


def test_registered_under_its_own_name():
    assert manager.MODELS['ExportableFastSCNN'] is ExportableFastSCNN
    assert manager.MODELS['FastSCNN'] is FastSCNN


def test_parameter_names_and_shapes_are_paddleseg_s(pair):
    theirs, ours = pair
    want = {k: v.shape for k, v in theirs.state_dict().items()}
    assert {k: v.shape for k, v in ours.state_dict().items()} == want
    assert 'global_feature_extractor.ppm.stages.3.1._conv.weight' in want


@pytest.mark.parametrize('hw', SIZES)
def test_eval_logits_equal_paddleseg_s(pair, hw):
    theirs, ours = pair
    theirs.eval()
    ours.eval()
    x = paddle.to_tensor(np.random.RandomState(0).uniform(-2, 2, (2, 3) + hw).astype('float32'))
    with paddle.no_grad():
        want = theirs(x)[0].numpy()
        got = ours(x)
    assert len(got) == 1 and got[0].shape == [2, NUM_CLASSES, *hw]
    assert np.abs(want).max() > 1e-2
    np.testing.assert_allclose(got[0].numpy(), want, rtol=0, atol=1e-5 * np.abs(want).max())


def test_align_corners_true_variant_equals_paddleseg_s():
    paddle.seed(0)
    theirs = FastSCNN(NUM_CLASSES, enable_auxiliary_loss=False, align_corners=True)
    randomize_norm_statistics(theirs)
    ours = ExportableFastSCNN(NUM_CLASSES, enable_auxiliary_loss=False, align_corners=True)
    ours.set_state_dict(theirs.state_dict())
    theirs.eval()
    ours.eval()
    x = paddle.to_tensor(np.random.RandomState(2).uniform(-2, 2, (1, 3, 97, 65)).astype('float32'))
    with paddle.no_grad():
        want = theirs(x)[0].numpy()
        got = ours(x)[0].numpy()
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5 * np.abs(want).max())


def test_training_outputs_and_gradients_equal_paddleseg_s(pair):
    theirs, ours = pair
    x = np.random.RandomState(1).uniform(-2, 2, (2, 3, 96, 80)).astype('float32')
    results = []
    for model in (theirs, ours):
        model.train()
        model.clear_gradients()
        paddle.seed(3)  # the same dropout mask in both classifiers
        outs = model(paddle.to_tensor(x))
        (outs[0].square().mean() + 0.4 * outs[1].square().mean()).backward()
        grads = {n: p.grad.numpy() for n, p in model.named_parameters() if p.grad is not None}
        results.append(([o.numpy() for o in outs], grads))
    (want_outs, want_grads), (got_outs, got_grads) = results
    assert len(got_outs) == 2
    for want, got in zip(want_outs, got_outs):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-5 * np.abs(want).max())
    assert set(got_grads) == set(want_grads) and len(want_grads) > 100
    scale = max(np.abs(g).max() for g in want_grads.values())
    for name, want in want_grads.items():
        # Absolute floor: conv biases in front of train-mode BN have gradients that
        # are float noise around 0 (BN removes the mean).
        np.testing.assert_allclose(got_grads[name], want, rtol=1e-3, atol=1e-5 * scale, err_msg=name)


def test_paddleseg_checkpoint_loads_as_pretrained(pair, tmp_path):
    theirs, _ = pair
    path = str(tmp_path / 'fastscnn.pdparams')
    paddle.save(theirs.state_dict(), path)
    loaded = ExportableFastSCNN(NUM_CLASSES, pretrained=path)
    for name, value in theirs.state_dict().items():
        np.testing.assert_array_equal(loaded.state_dict()[name].numpy(), value.numpy(), err_msg=name)
