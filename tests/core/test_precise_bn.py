import json
import os

import numpy as np
import paddle
import pytest

from paddleseg_fastfcn.core.builder import ConfigError, build_model, load_config
from paddleseg_fastfcn.core.evaluate import evaluate_checkpoint
from paddleseg_fastfcn.core.inference import load_model_weights
from paddleseg_fastfcn.core.precise_bn import parse_precise_bn, recompute_bn_statistics
from paddleseg_fastfcn.core.train import train

from tests.core.train_helpers import write_config


class Net(paddle.nn.Layer):
    """BN on the raw input, conv + BN + dropout, an Encoding-style BatchNorm1D over
    [N, K, C], and a branch that eval mode skips (its BN is never reached)."""

    def __init__(self):
        super().__init__()
        self.bn_in = paddle.nn.BatchNorm2D(3)
        self.conv = paddle.nn.Conv2D(3, 4, 3, padding=1)
        self.bn_mid = paddle.nn.BatchNorm2D(4)
        self.drop = paddle.nn.Dropout(0.5)
        self.bn_codes = paddle.nn.BatchNorm1D(2)
        self.train_only = paddle.nn.BatchNorm2D(4)

    def forward(self, x):
        y = self.drop(paddle.nn.functional.relu(self.bn_mid(self.conv(self.bn_in(x)))))
        codes = self.bn_codes(y.reshape([y.shape[0], 2, -1]))
        if self.training:
            codes = codes + self.train_only(y).mean()
        return codes


def _capture_inputs(layers):
    seen = {id(layer): [] for layer in layers}
    hooks = [layer.register_forward_pre_hook(
        lambda layer, inputs: seen[id(layer)].append(inputs[0].numpy().copy()))
        for layer in layers]
    return seen, hooks


def test_statistics_are_the_exact_mean_and_variance_of_the_data_fed():
    paddle.seed(0)
    net = Net()
    net.train()
    net.drop.eval()  # a mixed-mode model: every flag must come back as it was
    modes = [layer.training for layer in net.sublayers(include_self=True)]
    params = {k: v.numpy().copy() for k, v in net.state_dict().items() if 'mean' not in k
              and 'variance' not in k}
    untouched = {k: net.train_only.state_dict()[k].numpy().copy() for k in ('_mean', '_variance')}
    rng = np.random.RandomState(0)
    # Unequal batch sizes and a shifted, scaled input: a momentum average would not match.
    batches = [paddle.to_tensor((rng.randn(n, 3, 5, 6) * 3 + 2).astype('float32'))
               for n in (4, 2, 3)]
    seen, hooks = _capture_inputs([net.bn_mid, net.bn_codes])

    assert recompute_bn_statistics(net, batches) == 3

    for hook in hooks:
        hook.remove()
    data = np.concatenate([b.numpy() for b in batches])
    np.testing.assert_allclose(net.bn_in._mean.numpy(), data.mean((0, 2, 3)), rtol=1e-5)
    np.testing.assert_allclose(net.bn_in._variance.numpy(), data.var((0, 2, 3)), rtol=1e-5)
    mid = np.concatenate(seen[id(net.bn_mid)])
    np.testing.assert_allclose(net.bn_mid._mean.numpy(), mid.mean((0, 2, 3)), rtol=1e-4,
                               atol=1e-6)
    np.testing.assert_allclose(net.bn_mid._variance.numpy(), mid.var((0, 2, 3)), rtol=1e-4)
    codes = np.concatenate(seen[id(net.bn_codes)])  # [N, K, C]: statistics per K
    np.testing.assert_allclose(net.bn_codes._mean.numpy(), codes.mean((0, 2)), rtol=1e-4,
                               atol=1e-6)
    np.testing.assert_allclose(net.bn_codes._variance.numpy(), codes.var((0, 2)), rtol=1e-4)
    # The fed batches were normalised by their own statistics (BN in training mode)
    # with dropout off: bn_mid's input is the conv of bn_in's batch-normalised output.
    first = batches[0].numpy()
    normed = (first - first.mean((0, 2, 3), keepdims=True)) / np.sqrt(
        first.var((0, 2, 3), keepdims=True) + net.bn_in._epsilon)
    conv = net.conv(paddle.to_tensor(normed.astype('float32'))).numpy()
    np.testing.assert_allclose(seen[id(net.bn_mid)][0], conv, rtol=1e-4, atol=1e-4)

    for k, v in net.state_dict().items():
        if k in params:
            np.testing.assert_array_equal(v.numpy(), params[k], err_msg=k)
    for k, v in untouched.items():  # eval mode skips the branch: statistics kept
        np.testing.assert_array_equal(net.train_only.state_dict()[k].numpy(), v)
    assert [layer.training for layer in net.sublayers(include_self=True)] == modes
    assert [bn._momentum for bn in (net.bn_in, net.bn_mid, net.bn_codes)] == [0.9] * 3
    assert all(p.grad is None for p in net.parameters())


def test_dropout_is_off_during_the_pass():
    paddle.seed(1)
    net = Net()
    net.train()
    batch = paddle.to_tensor(np.random.RandomState(1).randn(4, 3, 5, 6).astype('float32'))
    recompute_bn_statistics(net, [batch])
    first = (net.bn_codes._mean.numpy().copy(), net.bn_codes._variance.numpy().copy())
    recompute_bn_statistics(net, [batch])  # dropout on would draw a new mask
    np.testing.assert_allclose(net.bn_codes._mean.numpy(), first[0], rtol=1e-6)
    np.testing.assert_allclose(net.bn_codes._variance.numpy(), first[1], rtol=1e-6)


def test_a_failing_batch_leaves_the_statistics_and_modes_as_they_were():
    paddle.seed(2)
    net = Net()
    net.eval()
    before = {k: v.numpy().copy() for k, v in net.state_dict().items()}
    good = paddle.to_tensor(np.random.RandomState(2).randn(4, 3, 5, 6).astype('float32'))

    def batches():
        yield good
        raise OSError('unreadable image')

    with pytest.raises(OSError, match='unreadable image'):
        recompute_bn_statistics(net, batches())
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k], err_msg=k)
    assert not any(layer.training for layer in net.sublayers(include_self=True))


@pytest.mark.parametrize('value, message', [
    ('[4]', 'must be a mapping'),
    ({'num_image': 8}, 'unknown key(s) num_image'),
    ({'num_images': 0}, 'precise_bn.num_images must be a positive integer'),
    ({'num_images': 8.0}, 'precise_bn.num_images must be a positive integer'),
    ({'num_images': 8, 'batch_size': True}, 'precise_bn.batch_size must be a positive integer'),
    ({'num_images': 8, 'transforms': 'test'}, "precise_bn.transforms must be one of val, train"),
    ({'num_images': 3}, 'num_images (3) is smaller than its batch_size (4)'),
])
def test_bad_settings_are_refused_naming_the_key(value, message):
    with pytest.raises(ValueError) as err:
        parse_precise_bn(value, 'a.yml:7', 4)
    assert message in str(err.value) and 'a.yml:7' in str(err.value)


def test_load_config_names_the_file_and_line(tmp_path):
    config = write_config(tmp_path, extra='\nprecise_bn:\n  num_images: -2\n')
    with pytest.raises(ConfigError, match=r'tiny\.yml:\d+: precise_bn\.num_images'):
        load_config(config)
    assert parse_precise_bn({'num_images': 6}, '-', 2) == {
        'num_images': 6, 'transforms': 'val', 'batch_size': 2, 'freeze_from': None}


def test_trainer_saves_the_statistics_it_scored_and_trains_the_same(tmp_path):
    plain = write_config(tmp_path, name='plain.yml')
    precise = write_config(tmp_path, name='precise.yml',
                           extra='\nprecise_bn:\n  num_images: 6\n')
    runs = {}
    for name, config in (('plain', plain), ('precise', precise)):
        out = str(tmp_path / name)
        runs[name] = train(config, save_dir=out, iters=2, save_interval=1, log_iters=1,
                           do_eval=True, seed=5)
        model = build_model(load_config(config))
        load_model_weights(model, os.path.join(out, 'iter_2', 'model.pdparams'))
        runs[name]['params'] = model.state_dict()
    # Training only reads batch statistics: the weights are the same with or without.
    stats = ('_mean', '_variance')
    for key, value in runs['plain']['params'].items():
        other = runs['precise']['params'][key].numpy()
        if key.endswith(stats):
            continue
        np.testing.assert_array_equal(value.numpy(), other, err_msg=key)
    assert any(not np.allclose(v.numpy(), runs['precise']['params'][k].numpy())
               for k, v in runs['plain']['params'].items() if k.endswith(stats))
    # val.py on best_model reproduces the score the trainer logged with its statistics.
    best = os.path.join(str(tmp_path / 'precise'), 'best_model')
    with open(os.path.join(best, 'score.json')) as f:
        logged = json.load(f)['miou']
    result = evaluate_checkpoint(precise, os.path.join(best, 'model.pdparams'),
                                 save_dir=str(tmp_path / 'val'), print_detail=False)
    assert result['miou'] == pytest.approx(logged, abs=1e-6)
    assert runs['precise']['best_miou'] == pytest.approx(logged)
