"""SyncBatchNorm conversion for multi-GPU training, and back to plain BN for export.

What runs here (CPU): the conversion itself (every BatchNorm2D and the Encoding
layer's BatchNorm1D become SyncBatchNorm, parameters shared), the checkpoint
round trip into the plain model that export builds, and the exported program
on CPU. What cannot run here: a SyncBatchNorm forward / backward (Paddle has
GPU kernels only), i.e. the statistics synchronisation itself.
"""
import os

import numpy as np
import paddle
import pytest

from paddleseg_fastfcn.core.builder import build_model, load_config
from paddleseg_fastfcn.core.distributed import batch_norm_layers, maybe_sync_batchnorm
from paddleseg_fastfcn.core.export import export_model
from paddleseg_fastfcn.utils.weight_files import read_paddle_file

from tests.core.train_helpers import write_config

pytestmark = pytest.mark.distributed


class _Log:
    def __init__(self):
        self.lines = []

    def info(self, message):
        self.lines.append(message)


def _tiny_fastfcn(tmp_path):
    config = write_config(tmp_path)  # FastFCNSegmentor with EncHead (Encoding + BatchNorm1D)
    paddle.seed(0)
    return config, build_model(load_config(config))


def test_every_batchnorm_including_the_encodings_1d_becomes_sync(tmp_path):
    _, model = _tiny_fastfcn(tmp_path)
    plain = batch_norm_layers(model)
    plain_keys = set(model.state_dict())
    kinds = {name: type(layer).__name__ for name, layer in plain}
    assert kinds['head.encmodule.encoding.4'] == 'BatchNorm1D'
    weight_ids = {name: id(layer.weight) for name, layer in plain}

    log = _Log()
    synced = maybe_sync_batchnorm(model, True, 'gpu', 2, log)

    converted = batch_norm_layers(synced)
    assert [name for name, _ in converted] == [name for name, _ in plain]
    assert all(isinstance(layer, paddle.nn.SyncBatchNorm) for _, layer in converted)
    # The optimizer and checkpoints see the same parameters under the same keys.
    assert {name: id(layer.weight) for name, layer in converted} == weight_ids
    assert set(synced.state_dict()) == plain_keys
    assert log.lines == ['sync_bn: {} BatchNorm layers converted to SyncBatchNorm'.format(
        len(plain))]


@pytest.mark.parametrize('sync_bn, device, world_size', [
    (False, 'gpu', 2),   # switched off in the config
    (True, 'cpu', 2),    # no CPU kernel: per-process BN
    (True, 'gpu', 1),    # one card: nothing to synchronise
])
def test_batchnorm_stays_plain_when_sync_is_off_or_impossible(tmp_path, sync_bn, device,
                                                              world_size):
    _, model = _tiny_fastfcn(tmp_path)
    model = maybe_sync_batchnorm(model, sync_bn, device, world_size, _Log())
    assert not any(isinstance(layer, paddle.nn.SyncBatchNorm)
                   for _, layer in batch_norm_layers(model))


def test_sync_bn_must_be_a_boolean(tmp_path):
    _, model = _tiny_fastfcn(tmp_path)
    with pytest.raises(ValueError, match='sync_bn must be true or false'):
        maybe_sync_batchnorm(model, 'yes', 'gpu', 2, _Log())


def test_sync_checkpoint_loads_into_plain_model_and_exports_for_cpu(tmp_path):
    config, model = _tiny_fastfcn(tmp_path)
    synced = maybe_sync_batchnorm(model, True, 'gpu', 2, _Log())
    rng = np.random.RandomState(1)
    for _, layer in batch_norm_layers(synced):  # as if trained: non-default statistics
        n = layer._mean.shape[0]
        layer._mean.set_value(rng.normal(0, 0.1, n).astype('float32'))
        layer._variance.set_value(rng.uniform(0.5, 1.5, n).astype('float32'))
    path = str(tmp_path / 'model.pdparams')
    paddle.save(synced.state_dict(), path)  # what the trainer's checkpoint holds

    plain = build_model(load_config(config))
    saved = read_paddle_file(path)
    plain.set_state_dict(saved)
    assert not any(isinstance(layer, paddle.nn.SyncBatchNorm)
                   for _, layer in batch_norm_layers(plain))
    for key, value in plain.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), saved[key], err_msg=key)

    out_dir = str(tmp_path / 'export')
    export_model(config, path, out_dir, input_shape=[1, 3, 32, 32], output_op='none')
    with open(os.path.join(out_dir, 'model.json')) as f:
        program = f.read()
    assert 'sync_batch_norm' not in program and 'batch_norm' in program

    x = np.random.RandomState(2).uniform(-1, 1, (1, 3, 32, 32)).astype('float32')
    plain.eval()
    want = plain(paddle.to_tensor(x))[0].numpy()
    infer_cfg = paddle.inference.Config(os.path.join(out_dir, 'model.json'),
                                        os.path.join(out_dir, 'model.pdiparams'))
    infer_cfg.disable_gpu()
    predictor = paddle.inference.create_predictor(infer_cfg)
    predictor.get_input_handle(predictor.get_input_names()[0]).copy_from_cpu(x)
    predictor.run()
    got = predictor.get_output_handle(predictor.get_output_names()[0]).copy_to_cpu()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
