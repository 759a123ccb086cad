import pytest

from paddleseg_fastfcn.core.train_state import TrainState


def test_round_trip_through_plain_dict():
    state = TrainState(seed=3, total_iters=8, iteration=4, epoch=2,
                       scaler={'scale': 1024.0, 'incr_count': 2})
    assert state.record_score(0.25, 2) and not state.record_score(0.2, 4)
    stored = dict(state.to_dict(), rng={'python': (3, (1, 2), None)})
    assert stored['best_miou'] == 0.25 and stored['best_iter'] == 2
    assert all(type(v) in (int, float, dict) for k, v in stored.items() if k != 'rng')
    assert TrainState.from_dict(stored) == state


def test_missing_or_unknown_keys_are_named():
    stored = TrainState(seed=1, total_iters=2).to_dict()
    del stored['epoch']
    with pytest.raises(ValueError, match=r"iter_2/train_state.pkl .*missing \['epoch'\]"):
        TrainState.from_dict(stored, 'iter_2/train_state.pkl')
    with pytest.raises(ValueError, match=r"unknown \['best', 'iter'\]"):
        TrainState.from_dict({'iter': 2, 'seed': 1, 'epoch': 1, 'best': {}})
