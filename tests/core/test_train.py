import json
import os
import re

import cv2
import numpy as np
import pytest

from paddleseg_fastfcn.core.builder import ConfigError
from paddleseg_fastfcn.core.train import train
from paddleseg_fastfcn.utils.weight_files import read_paddle_file

from tests.core.train_helpers import write_config

LOG_LINE = re.compile(
    r'\[TRAIN\] epoch: (\d+), iter: (\d+)/4, loss: ([\d.]+), main: ([\d.]+), aux: ([\d.]+), '
    r'se: ([\d.]+), lr: [\d.e-]+, batch_cost: [\d.]+, reader_cost: [\d.]+, '
    r'ips: [\d.]+ samples/sec, ETA: \d\d:\d\d:\d\d')


def test_logs_terms_keeps_checkpoints_and_best_model(tmp_path, capsys):
    config = write_config(tmp_path)
    out = str(tmp_path / 'out')
    result = train(config, save_dir=out, iters=4, save_interval=2, log_iters=2,
                   keep_checkpoint_max=1, do_eval=True, use_vdl=True, seed=3)

    with open(os.path.join(out, 'train.log')) as f:
        log = f.read()
    lines = [LOG_LINE.search(line) for line in log.splitlines() if '[TRAIN]' in line]
    assert [int(m.group(2)) for m in lines] == [2, 4]
    assert [int(m.group(1)) for m in lines] == [1, 2]  # 3 iterations per epoch
    for m in lines:  # the named terms add up to the total
        assert abs(float(m.group(3)) - sum(float(m.group(i)) for i in (4, 5, 6))) < 1e-4
    assert '[TRAIN]' in capsys.readouterr().out
    assert result['loss'] == pytest.approx(float(lines[-1].group(3)), abs=1e-5)

    # keep_checkpoint_max=1: iter_2 was removed once iter_4 was written.
    assert sorted(os.listdir(out)) == ['best_model', 'iter_4', 'train.log', 'vdl']
    assert sorted(os.listdir(os.path.join(out, 'iter_4'))) == [
        'model.pdopt', 'model.pdparams', 'train_state.pkl']
    state = read_paddle_file(os.path.join(out, 'iter_4', 'train_state.pkl'), 'train state')
    assert (state['iteration'], state['epoch'], state['seed']) == (4, 2, 3)
    assert state['best_iter'] in (2, 4) and state['total_iters'] == 4
    assert set(state['rng']) >= {'python', 'numpy', 'paddle'}

    with open(os.path.join(out, 'best_model', 'score.json')) as f:
        score = json.load(f)
    eval_lines = re.findall(r'\[EVAL\] iter: (\d+), mIoU: ([\d.]+)', log)
    assert [int(i) for i, _ in eval_lines] == [2, 4]
    best_iter, best_miou = max(((int(i), float(m)) for i, m in eval_lines), key=lambda t: t[1])
    assert score['iter'] == best_iter and score['miou'] == pytest.approx(best_miou, abs=1e-4)
    assert result['best_miou'] == pytest.approx(score['miou'])
    assert os.listdir(os.path.join(out, 'vdl'))


def test_nan_loss_stops_naming_the_iteration_and_keeps_last_checkpoint(tmp_path):
    config = write_config(tmp_path, lr=1e30)  # diverges within a few iterations
    out = str(tmp_path / 'out')
    with pytest.raises(FloatingPointError, match=r'non-finite loss at iteration \d+: main=') as e:
        train(config, save_dir=out, iters=4, save_interval=1, log_iters=1, seed=1)
    bad_iter = int(re.search(r'iteration (\d+)', str(e.value)).group(1))
    assert bad_iter > 1
    assert sorted(os.listdir(out)) == sorted(
        ['train.log'] + ['iter_{}'.format(i) for i in range(max(1, bad_iter - 5), bad_iter)])
    last = os.path.join(out, 'iter_{}'.format(bad_iter - 1))
    assert read_paddle_file(os.path.join(last, 'train_state.pkl'), 'train state')['iteration'] == bad_iter - 1
    assert read_paddle_file(os.path.join(last, 'model.pdparams'))


def test_unknown_opts_key_is_a_config_error_naming_it(tmp_path):
    config = write_config(tmp_path)
    with pytest.raises(ConfigError, match='itres'):
        train(config, save_dir=str(tmp_path / 'out'), opts=['itres=5'])
    assert not os.path.exists(tmp_path / 'out' / 'iter_1')


def test_loss_types_must_match_model_outputs(tmp_path):
    config = write_config(tmp_path)
    text = open(config).read().replace('coef: [1, 0.4, 0.2]', 'coef: [1, 0.4]').replace(
        '    - type: SemanticEncodingLoss\n', '')
    open(config, 'w').write(text)
    # Refused before training, naming the file and line of `coef`.
    with pytest.raises(ValueError, match=r'tiny\.yml:\d+: loss\.coef: found \[1, 0\.4\], expected 3 '
                                         r'coefficients, one per training output of the model \(seg, aux, se\)'):
        train(config, save_dir=str(tmp_path / 'out'), iters=1, seed=1)


def test_fp16_on_cpu_is_refused_before_building(tmp_path):
    with pytest.raises(ValueError, match='--precision fp16 needs --device gpu'):
        train(write_config(tmp_path), save_dir=str(tmp_path / 'out'), precision='fp16')


def test_worker_processes_do_not_change_the_data_or_the_result(tmp_path):
    # Augmentation is seeded per (seed, epoch, sample), not per worker process.
    config = write_config(tmp_path)
    results = []
    for workers in (0, 2):
        out = str(tmp_path / 'w{}'.format(workers))
        train(config, save_dir=out, iters=2, save_interval=2, num_workers=workers, seed=11)
        results.append(read_paddle_file(os.path.join(out, 'iter_2', 'model.pdparams')))
    for key, value in results[0].items():
        np.testing.assert_array_equal(results[1][key], value, err_msg=key)


def test_out_of_range_label_names_the_file_and_value(tmp_path):
    config = write_config(tmp_path)
    label_path = tmp_path / 'data' / 'labels' / 'im3.png'
    label = cv2.imread(str(label_path), cv2.IMREAD_GRAYSCALE)
    label[5, 5] = 7
    cv2.imwrite(str(label_path), label)
    # batch 6 = the whole set, so the bad sample is in the first batch.
    with pytest.raises(ValueError, match=r'im3\.png.*\[7\]'):
        train(config, save_dir=str(tmp_path / 'out'), iters=1, batch_size=6, seed=1)


def test_train_time_eval_uses_test_config_and_writes_val_files(tmp_path):
    """best_model is chosen with val.py's protocol (the config's test_config), and its
    evaluation files are those val.py writes for the same weights."""
    from paddleseg_fastfcn.core.evaluate import evaluate_checkpoint
    config = write_config(tmp_path, extra='test_config: {is_slide: True, crop_size: [16, 16], '
                                          'stride: [12, 12]}\n')
    out = tmp_path / 'out'
    train(config, save_dir=str(out), iters=2, save_interval=2, do_eval=True, seed=3)
    best = out / 'best_model'
    saved = json.loads((best / 'metrics.json').read_text())
    assert saved['inference']['is_slide'] and saved['inference']['crop_size'] == [16, 16]
    assert saved['iter'] == 2
    for name in ('class_metrics.csv', 'confusion_matrix.csv', 'confusion_matrix.png'):
        assert (best / name).is_file(), name
    val = evaluate_checkpoint(config, str(best / 'model.pdparams'), save_dir=str(tmp_path / 'val'),
                              print_detail=False)
    assert saved['intersect_area'] == val['intersect_area'].tolist()
    assert saved['label_area'] == val['label_area'].tolist()
    assert (best / 'confusion_matrix.csv').read_text() == \
        (tmp_path / 'val' / 'confusion_matrix.csv').read_text()


# A learning rate that overflows float32 from iteration 3 on (3e38 x lr_mult 10 in neck and
# head): the loss of iteration 3 is finite (computed before the update), the weights after it
# are not.
OVERFLOWING_LR = """lr_scheduler:
  type: PiecewiseDecay
  boundaries: [2]
  values: [0.01, 3.0e+38]
"""


def test_non_finite_weights_stop_naming_the_iteration_and_the_parameters(tmp_path):
    from tests.core.train_helpers import CONFIG
    start = CONFIG.index('lr_scheduler:')
    template = CONFIG[:start] + OVERFLOWING_LR + CONFIG[CONFIG.index('\nloss:'):]
    config = write_config(tmp_path, template=template)
    out = str(tmp_path / 'out')
    with pytest.raises(FloatingPointError, match=r'non-finite parameters after the update of iteration 3: '
                                                 r'backbone\.\S+, neck\.\S+, .* and \d+ more; training stopped, no '
                                                 r'checkpoint holds them'):
        train(config, save_dir=out, iters=6, save_interval=2, log_iters=3, seed=1)
    # iter_2 was written before; nothing of iteration 3 on, no temporaries, no lock.
    assert sorted(os.listdir(out)) == ['iter_2', 'train.log']


def test_an_old_checkpoint_that_cannot_be_deleted_is_a_warning_and_training_goes_on(tmp_path, undeletable):
    config = write_config(tmp_path)
    out = tmp_path / 'out'
    (out / 'iter_1').mkdir(parents=True)  # left by an earlier run, holding a file nobody can delete
    undeletable(out / 'iter_1' / 'stuck')
    result = train(config, save_dir=str(out), iters=4, save_interval=2, log_iters=2,
                   keep_checkpoint_max=1, seed=1)
    assert result['iter'] == 4
    log = (out / 'train.log').read_text()
    assert len(re.findall(r'\[WARNING\] could not delete the old checkpoint .*iter_1 .*training goes on', log)) == 1
    assert sorted(os.listdir(out)) == ['iter_1', 'iter_4', 'train.log']


def test_a_hard_killed_runs_temporary_folder_and_lock_are_cleaned_up_and_said(tmp_path):
    """What SIGKILL in the middle of a checkpoint write leaves: a temporary folder and a lock file
    whose process is gone (the kernel released the lock itself)."""
    config = write_config(tmp_path)
    out = tmp_path / 'out'
    (out / '.tmp_iter_6_4242').mkdir(parents=True)
    (out / '.tmp_iter_6_4242' / 'model.pdparams').write_bytes(b'partial')
    (out / '.lock').write_text('{"pid": 4242, "host": "node7", "since": "2026-01-01 00:00:00 UTC"}')
    train(config, save_dir=str(out), iters=2, save_interval=2, log_iters=2, seed=1)
    log = (out / 'train.log').read_text()
    assert re.search(r'save_dir lock .*out/\.lock: taking over from pid 4242 on host node7 since 2026-01-01 '
                     r'00:00:00 UTC, which ended without releasing it', log)
    assert re.search(r'removed .*out/\.tmp_iter_6_4242, the temporary directory of a checkpoint save that '
                     r'was interrupted', log)
    assert sorted(os.listdir(out)) == ['iter_2', 'train.log']
