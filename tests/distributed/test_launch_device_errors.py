"""Clear errors for devices that do not exist, before anything is built."""
import os

import paddle
import pytest

from paddleseg_fastfcn.utils.device import check_selected_gpus

from tests.core.train_helpers import write_config
from tests.distributed.launch_helpers import REPO, explain, launch, worker_logs

pytestmark = pytest.mark.distributed


@pytest.mark.parametrize('selected, count', [(None, 0), ('0', 1), ('1', 2), ('0,1', 2)])
def test_existing_cards_pass(selected, count):
    check_selected_gpus(selected, count)


@pytest.mark.parametrize('selected, count, missing', [('2', 2, '2'), ('1,3', 2, '3'),
                                                      ('0', 0, '0')])
def test_a_card_beyond_the_visible_ones_is_named(selected, count, missing):
    with pytest.raises(ValueError) as e:
        check_selected_gpus(selected, count)
    message = str(e.value)
    assert message.startswith('GPU {} requested'.format(missing))
    assert 'only {} GPU(s) are visible'.format(count) in message
    assert 'paddle.distributed.launch --devices' in message


@pytest.mark.skipif(paddle.device.is_compiled_with_cuda(), reason='checks the CPU-only build')
def test_gpu_training_on_a_cpu_build_fails_every_rank_and_the_launch(tmp_path):
    config = write_config(tmp_path)
    log_dir = tmp_path / 'launch_logs'
    result = launch(os.path.join(REPO, 'train.py'),
                    ['--config', config, '--device', 'gpu', '--save_dir', tmp_path / 'out'],
                    log_dir)
    assert result.returncode != 0, explain(result, log_dir)
    logs = worker_logs(str(log_dir))
    assert 'paddle is not compiled with CUDA' in logs.get(0, '') + logs.get(1, '')
    assert not os.path.exists(tmp_path / 'out' / 'iter_1')
