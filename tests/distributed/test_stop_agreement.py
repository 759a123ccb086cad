"""All ranks agree on when to stop: a NaN loss on one rank stops every rank.

The trainer averages the loss terms over ranks with one all_reduce per step
and stops when the average is not finite; stop_vote.py runs exactly that check
with a NaN on rank 1 only.
"""
import json
import os

import pytest

from tests.distributed.launch_helpers import explain, launch

pytestmark = pytest.mark.distributed

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'stop_vote.py')


def test_nan_on_one_rank_stops_both(tmp_path):
    log_dir = tmp_path / 'launch_logs'
    result = launch(SCRIPT, [tmp_path], log_dir)
    assert result.returncode == 0, explain(result, log_dir)
    votes = []
    for rank in (0, 1):
        with open(tmp_path / 'rank{}.json'.format(rank)) as f:
            votes.append(json.load(f))
    assert [v['world_size'] for v in votes] == [2, 2]
    assert [v['means'] for v in votes] == [['0.5', 'nan']] * 2
    assert [v['continue'] for v in votes] == [False, False]
