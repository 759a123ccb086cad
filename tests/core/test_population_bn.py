"""precise_bn.freeze_from: training with frozen population statistics (core/population_bn.py)."""
import os

import numpy as np
import paddle
import pytest

from paddleseg_fastfcn.core.builder import ConfigError, load_config
from paddleseg_fastfcn.core.population_bn import use_population_statistics
from paddleseg_fastfcn.core.precise_bn import parse_precise_bn
from paddleseg_fastfcn.core.train import train
from paddleseg_fastfcn.utils.weight_files import read_paddle_file

from tests.core.train_helpers import write_config

FROZEN_YAML = '\nprecise_bn:\n  num_images: 6\n  freeze_from: 2\n'
STATS = ('_mean', '_variance')


def test_frozen_batch_norm_is_the_affine_map_of_its_statistics_values_and_gradients():
    paddle.seed(0)
    net = paddle.nn.Sequential(paddle.nn.Conv2D(3, 4, 1), paddle.nn.BatchNorm2D(4), paddle.nn.Dropout(0.5))
    bn = net[1]
    rng = np.random.RandomState(0)
    mean, var = rng.randn(4).astype('float32'), rng.uniform(0.5, 2, 4).astype('float32')
    bn._mean.set_value(mean)
    bn._variance.set_value(var)
    bn.weight.set_value(rng.randn(4).astype('float32'))
    bn.bias.set_value(rng.randn(4).astype('float32'))
    net.train()
    assert use_population_statistics(net) == 1
    assert not bn.training and net[2].training  # dropout keeps the training mode
    x = paddle.to_tensor(rng.randn(2, 4, 5, 3).astype('float32'), stop_gradient=False)
    probe = paddle.to_tensor(rng.randn(2, 4, 5, 3).astype('float32'))
    (bn(x) * probe).sum().backward()
    grads = [x.grad.numpy(), bn.weight.grad.numpy(), bn.bias.grad.numpy()]

    # The reference formula, in float64, on the same values.
    xr = paddle.to_tensor(x.numpy().astype('float64'), stop_gradient=False)
    w = paddle.to_tensor(bn.weight.numpy().astype('float64'), stop_gradient=False)
    b = paddle.to_tensor(bn.bias.numpy().astype('float64'), stop_gradient=False)
    shape = [1, 4, 1, 1]
    scale = 1.0 / np.sqrt(var.astype('float64') + bn._epsilon)
    ref = ((xr - paddle.to_tensor(mean.astype('float64')).reshape(shape))
           * paddle.to_tensor(scale).reshape(shape) * w.reshape(shape) + b.reshape(shape))
    (ref * paddle.to_tensor(probe.numpy().astype('float64'))).sum().backward()
    np.testing.assert_allclose(bn(x).numpy(), ref.numpy(), rtol=1e-5, atol=1e-5)
    for got, want in zip(grads, [xr.grad.numpy(), w.grad.numpy(), b.grad.numpy()]):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    # Nothing updates the statistics.
    np.testing.assert_array_equal(bn._mean.numpy(), mean)
    np.testing.assert_array_equal(bn._variance.numpy(), var)


@pytest.mark.parametrize('value,message', [
    (-1, 'precise_bn.freeze_from must be an iteration'),
    (2.5, 'precise_bn.freeze_from must be an iteration'),
    (True, 'precise_bn.freeze_from must be an iteration'),
])
def test_bad_freeze_from_is_refused(value, message):
    with pytest.raises(ValueError, match=message):
        parse_precise_bn({'num_images': 8, 'freeze_from': value}, 'a.yml:7', 4, 600)


def test_freeze_from_at_or_after_the_last_iteration_names_the_file_and_line(tmp_path):
    config = write_config(tmp_path, extra='\nprecise_bn:\n  num_images: 6\n  freeze_from: 30\n')
    with pytest.raises(ConfigError, match=r'tiny\.yml:\d+: precise_bn\.freeze_from \(30\) must be below '
                                          r'iters \(\d+\)'):
        load_config(config, iters=30)
    assert load_config(config, iters=31).dic['precise_bn']['freeze_from'] == 30


def _state(run_dir, iteration):
    return read_paddle_file(os.path.join(run_dir, 'iter_{}'.format(iteration), 'model.pdparams'))


def test_statistics_freeze_at_freeze_from_and_a_resumed_run_continues_exactly(tmp_path):
    # lr 0.001: at 0.01 the frozen statistics overflow the weights at iteration 4, which stops training.
    config = write_config(tmp_path, lr=0.001, extra=FROZEN_YAML)
    straight = str(tmp_path / 'straight')
    train(config, save_dir=straight, iters=4, save_interval=1, log_iters=1, seed=3, keep_checkpoint_max=5)
    states = {i: _state(straight, i) for i in range(1, 5)}
    stat_keys = [k for k in states[4] if k.endswith(STATS)]
    weight_keys = [k for k in states[4] if not k.endswith(STATS)]
    assert stat_keys and weight_keys
    # Re-estimated before the phase (they change with the weights), fixed in it: BN in
    # training mode would have moved them at every step.
    assert any(not np.array_equal(states[1][k], states[2][k]) for k in stat_keys)
    for i in (3, 4):
        for k in stat_keys:
            np.testing.assert_array_equal(states[i][k], states[2][k], err_msg='iter {} {}'.format(i, k))
    # The weights, BN scale and shift included, keep training.
    moved = [k for k in weight_keys if not np.array_equal(states[2][k], states[4][k])]
    assert len(moved) > len(weight_keys) // 2
    assert any(k.endswith('.weight') and k.replace('.weight', '._mean') in stat_keys for k in moved)
    with open(os.path.join(straight, 'train.log')) as f:
        assert 'training normalises by them, frozen, from iteration 3 on' in f.read()

    # Resumed before the phase (re-estimates at 2 again) and inside it (its checkpoint's statistics).
    for start in (1, 3):
        resumed = str(tmp_path / 'resumed_{}'.format(start))
        train(config, save_dir=resumed, iters=4, save_interval=1, log_iters=1, seed=3,
              resume_model=os.path.join(straight, 'iter_{}'.format(start)))
        got = _state(resumed, 4)
        for k in states[4]:
            np.testing.assert_array_equal(got[k], states[4][k], err_msg='from {}: {}'.format(start, k))


def test_a_run_without_freeze_from_keeps_batch_statistics(tmp_path):
    config = write_config(tmp_path, extra='\nprecise_bn:\n  num_images: 6\n')
    out = str(tmp_path / 'plain')
    train(config, save_dir=out, iters=3, save_interval=1, log_iters=1, seed=3, keep_checkpoint_max=5)
    two, three = _state(out, 2), _state(out, 3)
    # Re-estimated at every checkpoint with the moving weights: never fixed.
    assert any(not np.array_equal(two[k], three[k]) for k in two if k.endswith(STATS))
    with open(os.path.join(out, 'train.log')) as f:
        assert 'frozen' not in f.read()
