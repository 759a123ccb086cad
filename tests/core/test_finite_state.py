"""The fused finiteness check: NaN / inf anywhere is found and named, a finite state never stops a run."""
import numpy as np
import paddle
import pytest

from paddleseg_fastfcn.core.finite_state import check_model_finite, describe, non_finite_names, state_sum


def _model():
    return paddle.nn.Sequential(paddle.nn.Linear(4, 3), paddle.nn.BatchNorm1D(3))


def test_a_finite_state_passes_and_a_nan_or_inf_is_named_wherever_it_is():
    model = _model()
    assert np.isfinite(state_sum(model.state_dict())) and non_finite_names(model.state_dict()) == []
    model[1]._variance.set_value(paddle.to_tensor([1.0, np.inf, 1.0]))
    nested = {'model': model.state_dict(), 'opt': {'moments': [np.zeros(2), np.array([0.0, np.nan])]},
              'steps': 3, 'ids': paddle.to_tensor([1, 2])}
    assert non_finite_names(nested) == ['model.1._variance', 'opt.moments[1]']


def test_a_bfloat16_nan_is_found():
    state = {'w': paddle.to_tensor([1.0, float('nan')]).astype('bfloat16')}
    assert non_finite_names(state) == ['w']


def test_finite_values_whose_sum_overflows_are_not_reported():
    state = {'w': paddle.to_tensor([3.0e38, 3.0e38], dtype='float32')}
    assert not np.isfinite(state_sum(state))  # the fused pass cannot tell ...
    assert non_finite_names(state) == []  # ... the per-tensor pass can


def test_check_model_finite_names_the_iteration_and_tensors_and_ignores_overflow():
    model = _model()
    check_model_finite(model, 5)
    model[0].weight.set_value(paddle.full([4, 3], 3.0e38))  # finite, the float32 sum overflows
    check_model_finite(model, 6)
    model[0].bias.set_value(paddle.to_tensor([0.0, np.nan, 0.0]))
    with pytest.raises(FloatingPointError, match=r'non-finite parameters after the update of iteration 7: '
                                                 r'0\.bias; training stopped, no checkpoint holds them'):
        check_model_finite(model, 7)


def test_describe_shows_the_first_names():
    assert describe(['a', 'b']) == 'a, b'
    assert describe(['n{}'.format(i) for i in range(8)], limit=3) == 'n0, n1, n2 and 5 more'
