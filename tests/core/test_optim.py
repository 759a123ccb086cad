"""PaddleSeg's SGD/Momentum with custom_cfg lr_mult works on Paddle 3: one step
moves a lr_mult=10 group exactly 10x as far as the base group."""
import numpy as np
import paddle

from paddleseg_fastfcn.core.builder import builder, load_config
from paddleseg_fastfcn.core.optim import build_optimizer, group_lr_multipliers

from tests.core.train_helpers import write_config


def test_lr_mult_groups_get_their_multiple_of_the_learning_rate(tmp_path):
    cfg = load_config(write_config(tmp_path, lr=0.01))
    seg = builder(cfg)
    model = seg.model
    optimizer = build_optimizer(seg, model)
    assert type(optimizer).__name__ == 'Momentum'  # SGD + momentum in the config
    assert [m for m, _ in group_lr_multipliers(optimizer)] == [1.0, 10.0, 10.0, 1.0]

    params = dict(model.named_parameters())
    x = paddle.rand([2, 3, 32, 32])
    model.train()
    paddle.add_n([o.mean() for o in model(x)]).backward()
    before = {n: p.numpy().copy() for n, p in params.items()}
    grads = {n: p.grad.numpy().copy() for n, p in params.items() if p.grad is not None}
    optimizer.step()
    wd = 1.0e-4
    checked = {'backbone': 0, 'neck': 0, 'head': 0}
    for name, g in grads.items():
        # First Momentum step: delta = -lr * mult * (grad + wd * param).
        step = g + wd * before[name]
        if np.abs(step).max() < 1e-6:
            continue
        group = name.split('.')[0].replace('aux_head', 'head')  # aux_head matches 'head'
        mult = 1.0 if group == 'backbone' else 10.0
        delta = params[name].numpy() - before[name]
        # delta is a difference of float32 values: allow a few ulps of the parameter.
        atol = 4 * np.finfo('float32').eps * np.abs(before[name]).max()
        np.testing.assert_allclose(delta, -0.01 * mult * step, rtol=1e-3, atol=atol, err_msg=name)
        checked[group] += 1
    assert all(n > 0 for n in checked.values()), checked


def test_custom_cfg_name_matching_nothing_is_reported(tmp_path, caplog):
    path = write_config(tmp_path)
    text = open(path).read().replace('name: head', 'name: haed')
    open(path, 'w').write(text)
    seg = builder(load_config(path))
    with caplog.at_level('WARNING'):
        optimizer = build_optimizer(seg, seg.model)
    assert "custom_cfg[2].name 'haed' matches no parameter" in caplog.text
    groups = group_lr_multipliers(optimizer)
    assert [m for m, _ in groups] == [1.0, 10.0, 10.0, 1.0]
    assert groups[2][1] == 0  # nothing got the misspelled group's 10x
