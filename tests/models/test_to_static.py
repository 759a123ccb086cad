"""Models convert with paddle.jit.to_static (dynamic H, W) and match dygraph; the
exported program also matches under Paddle Inference with oneDNN on."""
import numpy as np
import paddle
import paddle.inference as paddle_infer
import pytest
from paddle.static import InputSpec

from paddleseg_fastfcn.models.backbones import DeepStemResNet50
from paddleseg_fastfcn.models.heads import ASPPHead, EncHead, FCNAuxHead, PSPHead
from paddleseg_fastfcn.models.necks import JointPyramidUpsampling
from paddleseg_fastfcn.models.segmentors import FastFCNSegmentor

NUM_CLASSES = 3
SIZES = [(64, 64), (96, 80)]


def build(kind):
    """R50 backbone; small head / neck widths keep the test light."""
    paddle.seed(0)
    heads = {
        'encnet': lambda c: EncHead(NUM_CLASSES, c, channels=16, num_codes=4,
                                    conv5_kernel_size=3 if c == 2048 else 1),
        'psp': lambda c: PSPHead(NUM_CLASSES, c, channels=16),
        'deeplabv3': lambda c: ASPPHead(NUM_CLASSES, c, channels=8, atrous_rates=(1, 2, 3)),
    }
    head_kind, neck_kind = kind.split('_')
    if neck_kind == 'jpu':
        model = FastFCNSegmentor(NUM_CLASSES, DeepStemResNet50(), heads[head_kind](256),
                                 neck=JointPyramidUpsampling(width=64),
                                 aux_head=FCNAuxHead(NUM_CLASSES, channels=16))
    else:  # the dilated output-stride-8 baseline, no neck
        model = FastFCNSegmentor(NUM_CLASSES, DeepStemResNet50(output_stride=8),
                                 heads[head_kind](2048), aux_head=FCNAuxHead(NUM_CLASSES, channels=16))
    _randomise_bn_statistics(model)
    model.eval()
    return model


def _randomise_bn_statistics(model):
    # Non-trivial running statistics, so a wrong BN folding cannot go unnoticed.
    rng = np.random.default_rng(0)
    for name, value in model.state_dict().items():
        if name.endswith('_mean'):
            value.set_value(rng.normal(0, 0.1, value.shape).astype('float32'))
        elif name.endswith('_variance'):
            value.set_value(rng.uniform(0.5, 1.5, value.shape).astype('float32'))


def inputs():
    rng = np.random.default_rng(1)
    return [rng.normal(size=(1, 3, h, w)).astype('float32') for h, w in SIZES]


@pytest.mark.parametrize('kind', ['encnet_jpu', 'psp_jpu', 'deeplabv3_jpu', 'encnet_os8'])
def test_static_graph_equals_dygraph_at_two_sizes(kind):
    model = build(kind)
    xs = inputs()
    expected = [model(paddle.to_tensor(x))[0].numpy() for x in xs]
    static = paddle.jit.to_static(model, input_spec=[InputSpec([None, 3, None, None], 'float32')],
                                  full_graph=True)
    for x, want in zip(xs, expected):
        got = static(paddle.to_tensor(x))[0].numpy()
        assert got.shape == (1, NUM_CLASSES) + x.shape[2:]
        assert np.abs(want).max() > 1e-3
        # The same linear maps summed in another order (the resize's rows: banded block
        # products in dygraph, row gathers in the static graph): float32 rounding of the
        # logits' size, nothing more.
        assert np.abs(got - want).max() <= 2e-6 * np.abs(want).max(), (np.abs(got - want).max(), np.abs(want).max())


def _predict(model_dir, x, use_onednn):
    config = paddle_infer.Config(str(model_dir / 'model.json'), str(model_dir / 'model.pdiparams'))
    config.disable_gpu()
    if use_onednn:
        config.enable_mkldnn()
    else:
        config.disable_mkldnn()
    predictor = paddle_infer.create_predictor(config)
    handle = predictor.get_input_handle(predictor.get_input_names()[0])
    handle.copy_from_cpu(x)
    predictor.run()
    return predictor.get_output_handle(predictor.get_output_names()[0]).copy_to_cpu()


@pytest.mark.parametrize('kind', ['encnet_jpu', 'psp_jpu', 'deeplabv3_jpu'])
def test_exported_model_matches_dygraph_under_paddle_inference_onednn(kind, tmp_path):
    # The Encoding matmuls, adaptive pooling and the BN over codewords are the
    # ops at risk from oneDNN layout issues; compare with oneDNN on and off.
    model = build(kind)
    xs = inputs()
    expected = [model(paddle.to_tensor(x))[0].numpy() for x in xs]
    static = paddle.jit.to_static(model, input_spec=[InputSpec([None, 3, None, None], 'float32')],
                                  full_graph=True)
    paddle.jit.save(static, str(tmp_path / 'model'))
    for x, want in zip(xs, expected):
        for use_onednn in (False, True):
            got = _predict(tmp_path, x, use_onednn)
            assert np.abs(got - want).max() <= 1e-4, 'oneDNN={}'.format(use_onednn)
