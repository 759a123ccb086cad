"""Static export: exported Paddle Inference / ONNX Runtime outputs equal dygraph eval.

Every FastFCN head (Enc / PSP / ASPP, on DeepStemResNet50 + JPU) and Fast-SCNN is
exported once per module (output_op none, dynamic shape) and compared at two sizes
and batch 1 and 2, with oneDNN off and on.
"""
import importlib
import importlib.metadata
import os
import re
import shutil

import numpy as np
import paddle
import pytest
import yaml

from paddleseg_fastfcn.core.builder import ConfigError
from paddleseg_fastfcn.core.export import SegmentationOutputWrapper, export_model, load_weights
from paddleseg_fastfcn.core.onnx_export import DEFAULT_OPSET, export_onnx
from paddleseg_fastfcn.deploy.onnx_check import verify_onnx
from paddleseg_fastfcn.deploy.onnx_predictor import OnnxPredictor
from paddleseg_fastfcn.deploy.paddle_predictor import PaddlePredictor
from tests.deploy.exported_models import FAST_SCNN, dygraph_logits, make_trained_like_model, write_config

SHAPES = [(1, 3, 64, 64), (2, 3, 64, 64), (1, 3, 96, 80), (2, 3, 96, 80)]
ATOL_PADDLE = 1e-4
ATOL_ONNX = 1e-3


def random_inputs(seed=0):
    rng = np.random.RandomState(seed)
    return [rng.uniform(-2, 2, shape).astype('float32') for shape in SHAPES]


@pytest.fixture(scope='module')
def exports(tmp_path_factory):
    """head -> (model, export dir, ONNX error or None); each head exported once."""
    cache = {}

    def get(head):
        if head not in cache:
            work = str(tmp_path_factory.mktemp('export_' + head))
            config, weights, model = make_trained_like_model(work, head)
            save_dir = os.path.join(work, 'export')
            export_model(config, weights, save_dir, output_op='none')
            try:
                export_onnx(save_dir)
                onnx_error = None
            except RuntimeError as e:
                onnx_error = e
            cache[head] = (model, save_dir, onnx_error)
        return cache[head]
    return get


def predictor(save_dir, enable_mkldnn):
    return PaddlePredictor(os.path.join(save_dir, 'model.json'),
                           os.path.join(save_dir, 'model.pdiparams'),
                           enable_mkldnn=enable_mkldnn, cpu_threads=1)


def assert_same_masks(ref_logits, out_logits, tol):
    """argmax masks agree wherever the top-2 gap is wider than the output error allows."""
    top2 = np.sort(ref_logits, axis=1)[:, -2:]
    decided = (top2[:, 1] - top2[:, 0]) > 2 * tol
    assert decided.mean() > 0.99
    np.testing.assert_array_equal(ref_logits.argmax(1)[decided], out_logits.argmax(1)[decided])


@pytest.mark.parametrize('head,enable_mkldnn', [
    ('enc', False), ('enc', True),
    ('psp', False), ('psp', True),
    ('aspp', False), ('aspp', True),
    ('fastscnn', False), ('fastscnn', True),
])
def test_paddle_inference_equals_dygraph(exports, head, enable_mkldnn):
    model, save_dir, _ = exports(head)
    pred = predictor(save_dir, enable_mkldnn)
    for x in random_inputs():
        ref = dygraph_logits(model, x)
        out = pred.run(x)
        assert out.shape == ref.shape
        np.testing.assert_allclose(out, ref, rtol=0, atol=ATOL_PADDLE,
                                   err_msg='input {}, oneDNN {}'.format(x.shape, enable_mkldnn))
        assert_same_masks(ref, out, ATOL_PADDLE)


@pytest.mark.parametrize('head', ['enc', 'fastscnn'])
def test_onednn_on_an_input_one_backbone_stride_wide(exports, head):
    """Width 32 gives c4 (Fast-SCNN: the pyramid pooling input) of width 1, which the
    matmul resizes upsample."""
    model, save_dir, _ = exports(head)
    x = np.random.RandomState(2).uniform(-2, 2, (1, 3, 64, 32)).astype('float32')
    np.testing.assert_allclose(predictor(save_dir, True).run(x), dygraph_logits(model, x),
                               rtol=0, atol=ATOL_PADDLE)


@pytest.mark.parametrize('head', ['enc', 'psp', 'aspp', 'fastscnn'])
def test_onnx_runtime_matches_paddle_inference(exports, head):
    _, save_dir, onnx_error = exports(head)
    if onnx_error is not None:
        raise onnx_error
    pred = predictor(save_dir, enable_mkldnn=False)
    ort = OnnxPredictor(os.path.join(save_dir, 'model.onnx'), cpu_threads=1)
    for x in random_inputs(seed=1):
        ref = pred.run(x)
        out = ort.run(x)
        np.testing.assert_allclose(out, ref, rtol=0, atol=ATOL_ONNX, err_msg='input {}'.format(x.shape))
        assert_same_masks(ref, out, ATOL_ONNX)


def test_deploy_yaml_names_the_written_files(exports):
    _, save_dir, _ = exports('enc')
    with open(os.path.join(save_dir, 'deploy.yaml'), encoding='utf-8') as f:
        deploy = yaml.safe_load(f)['Deploy']
    # Paddle 3.3.1 writes the PIR program as model.json; the YAML must say so.
    for key in ('model', 'params', 'onnx_model'):
        assert os.path.isfile(os.path.join(save_dir, deploy[key])), key
    assert deploy['model'].endswith('.json')
    assert deploy['input_shape'] == [-1, 3, -1, -1]
    assert (deploy['output_op'], deploy['output_dtype']) == ('none', 'float32')
    assert deploy['transforms'] == [{'type': 'Normalize'}]
    assert deploy['onnx_opset'] == DEFAULT_OPSET


def read_deploy(save_dir):
    with open(os.path.join(save_dir, 'deploy.yaml'), encoding='utf-8') as f:
        return yaml.safe_load(f)['Deploy']


def test_export_section_transforms_replace_the_val_transforms(tmp_path):
    val = [{'type': 'Resize', 'target_size': [64, 64]}, {'type': 'Normalize'}]
    config = write_config(str(tmp_path / 'fastscnn.yml'), FAST_SCNN, val_transforms=val)
    export_model(config, None, str(tmp_path / 'from_val'))
    assert read_deploy(str(tmp_path / 'from_val'))['transforms'] == val
    with open(config, encoding='utf-8') as f:
        cfg = yaml.safe_load(f)
    cfg['export'] = {'transforms': [{'type': 'Normalize', 'mean': [0.4] * 3, 'std': [0.2] * 3}]}
    with open(config, 'w', encoding='utf-8') as f:
        yaml.safe_dump(cfg, f)
    export_model(config, None, str(tmp_path / 'from_export'))
    assert read_deploy(str(tmp_path / 'from_export'))['transforms'] == cfg['export']['transforms']


def test_onnx_export_installs_nothing(exports):
    """paddle2onnx's default optimizer pip-installs numpy 2 at run time; ours must not."""
    _, save_dir, _ = exports('enc')
    installed = {(d.metadata['Name'], d.version) for d in importlib.metadata.distributions()}
    export_onnx(save_dir)
    importlib.invalidate_caches()
    assert {(d.metadata['Name'], d.version) for d in importlib.metadata.distributions()} == installed


def test_verify_onnx_catches_an_onnx_model_that_computes_something_else(exports, tmp_path):
    import onnx
    from onnx import helper
    _, save_dir, _ = exports('enc')
    copy = str(tmp_path / 'export')
    shutil.copytree(save_dir, copy)
    assert verify_onnx(copy) < 1e-3
    onnx_file = os.path.join(copy, 'model.onnx')
    model = onnx.load(onnx_file)
    # Scale the output by 1.5 inside the graph, as a wrong conversion would change it.
    out = model.graph.output[0].name
    for node in model.graph.node:
        node.output[:] = [o + '_raw' if o == out else o for o in node.output]
    model.graph.node.extend([
        helper.make_node('Constant', [], ['scale'], value=helper.make_tensor('s', onnx.TensorProto.FLOAT, [], [1.5])),
        helper.make_node('Mul', [out + '_raw', 'scale'], [out])])
    onnx.save(model, onnx_file)
    with pytest.raises(RuntimeError, match='disagrees with the Paddle model'):
        verify_onnx(copy)


def test_export_cli_argmax_with_fixed_shape(tmp_path):
    config, weights, model = make_trained_like_model(str(tmp_path), 'enc')
    save_dir = str(tmp_path / 'export')
    export_cli = importlib.import_module('export')
    export_cli.main(['--config', config, '--model_path', weights, '--save_dir', save_dir,
                     '--input_shape', '1', '3', '64', '64', '--output_op', 'argmax', '--onnx', 'True'])
    with open(os.path.join(save_dir, 'deploy.yaml'), encoding='utf-8') as f:
        deploy = yaml.safe_load(f)['Deploy']
    assert deploy['input_shape'] == [1, 3, 64, 64]
    assert (deploy['output_op'], deploy['output_dtype']) == ('argmax', 'int32')
    assert deploy['onnx_model'] == 'model.onnx'  # converted and verified by the CLI
    x = random_inputs()[0]
    ref = dygraph_logits(model, x)
    for enable_mkldnn in (False, True):
        out = predictor(save_dir, enable_mkldnn).run(x)
        assert out.dtype == np.int32 and out.shape == (1, 64, 64)
        top2 = np.sort(ref, axis=1)[:, -2:]
        decided = (top2[:, 1] - top2[:, 0]) > 2 * ATOL_PADDLE
        np.testing.assert_array_equal(out[decided], ref.argmax(1)[decided])


class OneConvSegmentor(paddle.nn.Layer):
    """The segmentor eval contract (``[logits]``) in one conv."""

    def __init__(self):
        super().__init__()
        self.conv = paddle.nn.Conv2D(3, 4, 1)

    def forward(self, x):
        return [self.conv(x)]


def test_softmax_output_op_gives_probabilities():
    model = OneConvSegmentor()
    wrapped = SegmentationOutputWrapper(model, 'softmax')
    probs = wrapped(paddle.rand([2, 3, 5, 6])).numpy()
    np.testing.assert_allclose(probs.sum(axis=1), np.ones([2, 5, 6]), atol=1e-6)
    with pytest.raises(ValueError, match='output_op'):
        SegmentationOutputWrapper(model, 'sigmoid')


def test_missing_or_wrong_weights_are_clear_errors(tmp_path, exports):
    model, _, _ = exports('enc')
    with pytest.raises(FileNotFoundError, match='no_such.pdparams'):
        load_weights(model, str(tmp_path / 'no_such.pdparams'))
    other = str(tmp_path / 'other.pdparams')
    paddle.save({'conv.weight': paddle.zeros([1])}, other)
    with pytest.raises(ValueError, match=r'unexpected key\(s\): conv\.weight'):
        load_weights(model, other)
    partial = str(tmp_path / 'partial.pdparams')
    state = model.state_dict()
    paddle.save({k: v for k, v in list(state.items())[1:]}, partial)
    with pytest.raises(ValueError, match='missing'):
        load_weights(model, partial)


def test_missing_config_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match='not found'):
        export_model(str(tmp_path / 'nope.yml'), None, str(tmp_path / 'out'))


def _export_files(save_dir):
    return {n: open(os.path.join(save_dir, n), 'rb').read() for n in sorted(os.listdir(save_dir))}


def test_export_onto_a_full_disk_keeps_the_previous_export(tmp_path, monkeypatch, capsys):
    import errno

    import export as export_cli
    config = write_config(str(tmp_path / 'fastscnn.yml'), FAST_SCNN)
    weights = str(tmp_path / 'w.pdparams')
    paddle.seed(0)
    from paddleseg_fastfcn.core.builder import build_model, load_config
    paddle.save(build_model(load_config(config)).state_dict(), weights)
    save_dir = str(tmp_path / 'export')
    export_model(config, weights, save_dir)
    before = _export_files(save_dir)

    def disk_full(layer, path, *args, **kwargs):
        with open(path + '.pdiparams', 'wb') as f:
            f.write(b'partial')
        raise OSError(errno.ENOSPC, 'No space left on device')
    monkeypatch.setattr(paddle.jit, 'save', disk_full)
    assert export_cli.main(['--config', config, '--model_path', weights, '--save_dir', save_dir]) == 1
    err = capsys.readouterr().err
    assert re.search(r'error: cannot write the exported model \(model.json \+ model.pdiparams\) to .*export: '
                     r'No space left on device \(ENOSPC\); needs about [\d.]+ MB; free on that file system: ', err)
    assert _export_files(save_dir) == before  # the previous export is untouched, no temporaries


def test_export_into_a_small_or_read_only_filesystem(tmp_path, small_filesystem):
    from paddleseg_fastfcn.utils.atomic_write import DiskWriteError
    config = write_config(str(tmp_path / 'fastscnn.yml'), FAST_SCNN)
    small = small_filesystem('256k')  # less than Fast-SCNN's weights
    with pytest.raises(DiskWriteError, match=r'\(ENOSPC\); needs about [\d.]+ [KM]B; free on that file system: '):
        export_model(config, None, small)
    assert os.listdir(small) == []
    # Room for the weights but not for weights + program: paddle.jit.save cuts the
    # files short without an error; the export still fails by name and leaves nothing.
    almost = small_filesystem('6000k')
    with pytest.raises(DiskWriteError, match=r'paddle.jit.save cut its files short'):
        export_model(config, None, almost)
    assert os.listdir(almost) == []
    read_only = small_filesystem('8m')
    small_filesystem.read_only(read_only)
    with pytest.raises(DiskWriteError, match=r'\(EROFS\).*mounted read-only'):
        export_model(config, None, os.path.join(read_only, 'export'))


def test_onnx_conversion_onto_a_full_disk(tmp_path, small_filesystem):
    from paddleseg_fastfcn.utils.atomic_write import DiskWriteError
    config = write_config(str(tmp_path / 'fastscnn.yml'), FAST_SCNN)
    export_model(config, None, str(tmp_path / 'export'))
    fs = small_filesystem('8m')  # the Paddle export (6.2 MB) fits, its ONNX copy does not
    for name in os.listdir(tmp_path / 'export'):
        shutil.copy(str(tmp_path / 'export' / name), fs)
    before = _export_files(fs)
    with pytest.raises(DiskWriteError, match=r'cannot write the ONNX model to .*model.onnx: .*\(ENOSPC\)'):
        export_onnx(fs)
    assert _export_files(fs) == before  # no partial model.onnx, deploy.yaml unchanged


@pytest.mark.parametrize('head', ['enc', 'fastscnn'])
def test_fixed_shape_export_equals_dygraph_on_every_backend(tmp_path, exports, head):
    # A fixed input shape gives the resizes their sizes as numbers, so the exported graph
    # takes the banded row products (one write of the output) instead of row gathers.
    config, weights, model = make_trained_like_model(str(tmp_path), head)
    save_dir = str(tmp_path / 'fixed')
    export_model(config, weights, save_dir, input_shape=[2, 3, 96, 80], output_op='none')
    export_onnx(save_dir)
    x = np.random.RandomState(3).uniform(-2, 2, (2, 3, 96, 80)).astype('float32')
    ref = dygraph_logits(model, x)
    outputs = {'oneDNN off': predictor(save_dir, False).run(x), 'oneDNN on': predictor(save_dir, True).run(x),
               'ONNX Runtime': OnnxPredictor(os.path.join(save_dir, 'model.onnx'), cpu_threads=1).run(x)}
    for backend, out in outputs.items():
        np.testing.assert_allclose(out, ref, rtol=0, atol=ATOL_PADDLE, err_msg=backend)
    # FastFCNSegmentor's logits resize: one window gather and a product instead of three
    # full-size gathers (ExportableFastSCNN still passes its sizes as tensors).
    def gathers(export_dir):
        with open(os.path.join(export_dir, 'model.json')) as f:
            return f.read().count('"1.gather"')
    if head == 'enc':
        assert gathers(save_dir) < gathers(exports(head)[1])


@pytest.mark.parametrize('shape,message', [
    (['1', '4', '64', '64'], r'--input_shape 1 4 64 64: C = 4, but the model takes 3-channel images'),
    (['1', '3', '20000', '20000'], r'--input_shape 1 3 20000 20000: refused: an input of 20000 x 20000 '
                                   r'\(400,000,000\) exceeds the cap'),
    (['0', '3', '64', '64'], r'argument --input_shape: must be >= 1, got 0'),
])
def test_export_cli_refuses_an_input_shape_the_model_cannot_take(tmp_path, capsys, shape, message):
    import export as export_cli
    config, weights, _ = make_trained_like_model(str(tmp_path), FAST_SCNN)
    save_dir = str(tmp_path / 'export')
    argv = ['--config', config, '--model_path', weights, '--save_dir', save_dir, '--input_shape'] + shape
    try:
        status = export_cli.main(argv)
    except SystemExit as e:  # argparse
        status = e.code
    err = capsys.readouterr().err
    assert status in (1, 2) and re.search(message, err), err
    lines = err.strip().splitlines()
    assert 'Traceback' not in err and [l for l in lines if 'error' in l] == [lines[-1]]
    assert status == 2 or len(lines) == 1  # argparse's usage lines precede its error
    assert not os.path.exists(os.path.join(save_dir, 'deploy.yaml'))


def test_export_cli_names_a_bad_config_or_weights_file_in_one_line(tmp_path, capsys):
    import export as export_cli
    config, _, _ = make_trained_like_model(str(tmp_path), FAST_SCNN)
    bad = tmp_path / 'bad.pdparams'
    bad.write_bytes(b'not a checkpoint')
    assert export_cli.main(['--config', config, '--model_path', str(bad), '--save_dir', str(tmp_path / 'e')]) == 1
    err = capsys.readouterr().err
    assert err.startswith('error: ') and 'bad.pdparams' in err and 'Traceback' not in err
