import argparse

import pytest

from paddleseg_fastfcn.core.inference_options import InferenceOptions, add_inference_args

TEST_CONFIG = {'aug_eval': True, 'scales': [0.5, 1.0], 'flip_horizontal': True, 'is_slide': True,
               'crop_size': [480, 480], 'stride': [320, 320]}


def _cli(*argv, aug_flag='--aug_eval'):
    parser = argparse.ArgumentParser()
    add_inference_args(parser, aug_flag)
    return parser.parse_args(list(argv))


def test_defaults_are_one_whole_image_pass():
    for options in (InferenceOptions(), InferenceOptions.from_config(None, None),
                    InferenceOptions.from_config({}, _cli())):
        assert options == InferenceOptions(aug=False, scales=(1.0,), flip_horizontal=False,
                                           is_slide=False, crop_size=None, stride=None)


def test_test_config_over_defaults_with_paddleseg_keys():
    options = InferenceOptions.from_config(TEST_CONFIG, _cli())
    assert options == InferenceOptions(aug=True, scales=(0.5, 1.0), flip_horizontal=True,
                                       is_slide=True, crop_size=(480, 480), stride=(320, 320))
    # keys of PaddleSeg's test_config that this project does not use are left alone
    assert InferenceOptions.from_config({'flip_vertical': True}) == InferenceOptions()


def test_command_line_over_test_config():
    args = _cli('--scales', '1.0', '1.5', '--crop_size', '64', '48', '--stride', '32', '32')
    options = InferenceOptions.from_config(TEST_CONFIG, args)
    assert options.scales == (1.0, 1.5) and options.crop_size == (64, 48)
    assert options.stride == (32, 32) and options.aug and options.is_slide
    # --aug_pred (predict.py) sets the same option as --aug_eval (val.py)
    assert InferenceOptions.from_config({}, _cli('--aug_pred', aug_flag='--aug_pred')).aug
    assert InferenceOptions.from_config({}, {'aug': True, 'scales': 2.0}).scales == (2.0,)


def test_to_dict_is_plain_json_values():
    options = InferenceOptions.from_config(TEST_CONFIG)
    assert options.to_dict() == {'aug': True, 'scales': [0.5, 1.0], 'flip_horizontal': True,
                                 'is_slide': True, 'crop_size': [480, 480], 'stride': [320, 320]}


@pytest.mark.parametrize('kwargs, message', [
    ({'scales': [1.0, 0]}, 'scales must be one or more numbers > 0'),
    ({'scales': []}, 'scales must be one or more numbers > 0'),
    ({'scales': ['big']}, 'scales must be numbers'),
    ({'is_slide': True, 'crop_size': (8, 8)}, 'needs crop_size and stride'),
    ({'crop_size': (8, 8), 'stride': (9, 8)}, r'stride \[9, 8\] must not exceed crop_size \[8, 8'),
    ({'crop_size': (8, 0), 'stride': (4, 4)}, 'crop_size must be two positive integers'),
    ({'crop_size': (8, 8), 'stride': (4, 4, 4)}, 'stride must be two positive integers'),
    ({'crop_size': (8.5, 8), 'stride': (4, 4)}, 'crop_size must be two positive integers'),
])
def test_bad_options_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        InferenceOptions(**kwargs)


def test_from_config_error_says_where_values_came_from():
    with pytest.raises(ValueError, match=r'test_config.crop_size, --stride\): stride \[500, 320\]'):
        InferenceOptions.from_config(TEST_CONFIG, _cli('--stride', '500', '320'))
    with pytest.raises(ValueError, match=r'test_config.is_slide\): .*needs crop_size and stride'):
        InferenceOptions.from_config({'is_slide': True})


def test_frozen():
    with pytest.raises(Exception, match='cannot assign'):
        InferenceOptions().aug = True
