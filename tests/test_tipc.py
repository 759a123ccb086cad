"""TIPC: the config files keep PaddleSeg's positional layout, and the driver certifies train -> eval -> export ->
infer on CPU, recording each command's real exit status in results_python.log.

The end-to-end tests run the real scripts in a scratch tree (tmp) whose code files are symlinks to this checkout,
so generated data and outputs never land in the repository.
"""
import os
import re
import subprocess
import sys

import cv2
import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIPC = os.path.join(REPO, 'test_tipc')
MODELS = ['fastfcn_encnet_jpu_r50', 'fastfcn_psp_jpu_r50', 'fastfcn_deeplabv3_jpu_r50', 'fastscnn']
ENCNET_TXT = 'test_tipc/configs/fastfcn_encnet_jpu_r50/train_infer_python.txt'
ENCNET_ONNX_TXT = 'test_tipc/configs/fastfcn_encnet_jpu_r50/model_linux_cpu_normal_normal_paddle2onnx_python_linux_cpu.txt'

# The key of every slot of PaddleSeg's train_infer_python.txt, by position (None: any key, e.g. `null`).
TRAIN_INFER_KEYS = [
    '===========================train_params===========================', 'model_name', 'python', 'gpu_list',
    '--device', '--precision', '--iters', '--save_dir', '--batch_size', '--model_path', 'train_model_name',
    'train_infer_img_dir', None, '##', 'trainer', 'norm_train', 'pact_train', 'fpgm_train', 'distill_train',
    None, None, '##',
    '===========================eval_params===========================', 'eval', None, '##',
    '===========================export_params===========================', '--save_dir', '--model_path',
    'norm_export', 'quant_export', 'fpgm_export', 'distill_export', 'export1', 'export2',
    '===========================infer_params===========================', 'infer_model', 'infer_export',
    'infer_quant', 'inference', '--device', '--enable_mkldnn', '--cpu_threads', '--batch_size', '--use_trt',
    '--precision', '--config', '--image_path', '--save_log_path', '--benchmark', '--save_dir', '--model_name',
]
PADDLE2ONNX_KEYS = [
    '===========================paddle2onnx_params===========================', 'model_name', 'python', '2onnx',
    '--model_dir', '--model_filename', '--params_filename', '--save_file', '--opset_version',
    '--enable_onnx_checker', 'inference', None, '--image_path',
]
PER_MODE_SLOTS = {6: '--iters', 8: '--batch_size'}
TRAIN_MODES = {'lite_train_lite_infer', 'lite_train_whole_infer', 'whole_train_whole_infer'}
STATUS_LINE = re.compile(r'^Run (successfully|failed) with command - (\S+) - (.*) - (.*)$')


def config_lines(path):
    """Non-blank lines: PaddleSeg's drivers split on newlines, so blank lines do not count as slots."""
    with open(path) as f:
        return [line.rstrip('\n') for line in f if line.strip()]


def train_infer_txts():
    txts = []
    for model in MODELS:
        folder = os.path.join(TIPC, 'configs', model)
        txts += [os.path.join(folder, n) for n in sorted(os.listdir(folder))
                 if n.endswith('.txt') and 'paddle2onnx' not in n]
    return txts


@pytest.mark.tipc
@pytest.mark.parametrize('txt', train_infer_txts(), ids=lambda p: os.path.relpath(p, TIPC))
def test_train_infer_txt_keeps_paddleseg_positional_layout(txt):
    lines = config_lines(txt)
    assert len(lines) >= 52, '{} has {} slots, PaddleSeg reads 52'.format(txt, len(lines))
    for index, expected in enumerate(TRAIN_INFER_KEYS):
        if expected is None:
            continue
        key = lines[index].split(':')[0]
        assert key == expected, 'slot {} of {}: key {!r}, PaddleSeg expects {!r}'.format(index, txt, key, expected)
    for index, line in enumerate(lines[:52]):
        # The driver splits on ':' and keeps only field 1: a ':' inside a value would silently truncate it.
        if not line.startswith('==='):
            assert line.count(':') <= 1, 'slot {} of {} has a ":" in its value: {}'.format(index, txt, line)
    model_name = lines[1].split(':')[1]
    assert model_name == os.path.basename(os.path.dirname(txt))
    assert lines[51] == '--model_name:' + model_name
    for index in PER_MODE_SLOTS:
        modes = dict(item.split('=') for item in lines[index].split(':')[1].split('|'))
        assert set(modes) == TRAIN_MODES and all(int(v) > 0 for v in modes.values())
    gpus, devices = lines[3].split(':')[1].split('|'), lines[4].split(':')[1].split('|')
    assert len(gpus) == len(devices)
    assert all((g == '-1') == (d == 'cpu') for g, d in zip(gpus, devices))
    assert '--do_eval' in lines[15]
    for index in (15, 23, 29, 37):
        script, flag, yml = lines[index].split(':')[1].split()[:3]
        assert os.path.isfile(os.path.join(REPO, script)), script
        assert flag == '--config' and os.path.isfile(os.path.join(REPO, yml)), lines[index]


@pytest.mark.tipc
@pytest.mark.parametrize('model', MODELS)
def test_paddle2onnx_txt_keeps_paddleseg_layout(model):
    folder = os.path.join(TIPC, 'configs', model)
    (name,) = [n for n in os.listdir(folder) if 'paddle2onnx' in n]
    lines = config_lines(os.path.join(folder, name))
    assert len(lines) == 13
    for index, expected in enumerate(PADDLE2ONNX_KEYS):
        if expected is not None:
            assert lines[index].split(':')[0] == expected, (index, lines[index])
    assert lines[1] == 'model_name:' + model
    model_dir, onnx_file = lines[4].split(':')[1], lines[7].split(':')[1]
    assert os.path.dirname(onnx_file) == model_dir and lines[5] == '--model_filename:model.json'
    assert '--backend onnxruntime' in lines[10] and model_dir + '/deploy.yaml' in lines[10]
    # paddle2onnx's default optimizer (polygraphy) pip-installs packages at run time (onnx_graphsurgeon, numpy 2),
    # which breaks cv2/paddleseg in the running environment: the converter must be called without it.
    assert lines[3] == '2onnx:paddle2onnx --optimize_tool None'


@pytest.mark.tipc
@pytest.mark.parametrize('model', MODELS)
def test_tipc_yaml_builds_with_the_project_loader(model):
    """Each TIPC YAML reads the generated mini data and builds its model (FastFCN: JPU + aux head) whose eval
    output is [N, 5, H, W]."""
    import paddle
    from paddleseg_fastfcn.core.builder import build_model, load_config
    lines = config_lines(os.path.join(TIPC, 'configs', model, 'train_infer_python.txt'))
    cfg = load_config(os.path.join(REPO, lines[15].split(':')[1].split()[2]))
    for split in ('train_dataset', 'val_dataset'):
        assert cfg.dic[split]['type'] == 'MiniADE20K'
        assert cfg.dic[split]['dataset_root'] == 'test_tipc/data/mini_ade20k'
    net = build_model(cfg)
    if model.startswith('fastfcn_'):
        assert net.neck is not None and net.aux_head is not None
    else:
        assert cfg.model_cfg['type'] == 'ExportableFastSCNN'
    net.eval()
    with paddle.no_grad():
        (logits,) = net(paddle.rand([1, 3, 64, 64]))
    assert logits.shape == [1, 5, 64, 64]


def make_scratch_tree(root):
    """A tree where the TIPC scripts run from `root` as from the repository root, writing data and outputs there."""
    for name in ('train.py', 'val.py', 'export.py', 'deploy', 'tools', 'paddleseg_fastfcn'):
        os.symlink(os.path.join(REPO, name), os.path.join(root, name))
    os.mkdir(os.path.join(root, 'test_tipc'))
    for name in os.listdir(TIPC):
        if name not in ('data', 'output'):
            os.symlink(os.path.join(TIPC, name), os.path.join(root, 'test_tipc', name))
    return str(root)


def run_script(root, *args):
    env = dict(os.environ)
    # `python` in the config files must be this interpreter (the one with paddle and this package).
    env['PATH'] = os.path.dirname(sys.executable) + os.pathsep + env.get('PATH', '')
    env.setdefault('OMP_NUM_THREADS', '1')
    return subprocess.run(['bash'] + list(args), cwd=root, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)


def status_lines(log_path):
    with open(log_path) as f:
        lines = [line.rstrip('\n') for line in f if line.strip()]
    return [line for line in lines if not line.startswith('----')]


@pytest.fixture(scope='module')
def lite_run(tmp_path_factory):
    """prepare.sh + the driver for lite_train_lite_infer of EncNet+JPU R50, once for the module."""
    root = make_scratch_tree(tmp_path_factory.mktemp('tipc_lite'))
    prepare = run_script(root, 'test_tipc/prepare.sh', ENCNET_TXT, 'lite_train_lite_infer')
    assert prepare.returncode == 0, prepare.stdout[-3000:]
    driver = run_script(root, 'test_tipc/test_train_inference_python.sh', ENCNET_TXT, 'lite_train_lite_infer')
    return root, driver


@pytest.mark.tipc
@pytest.mark.slow
def test_lite_train_lite_infer_runs_every_step_successfully(lite_run):
    root, driver = lite_run
    assert driver.returncode == 0, driver.stdout[-5000:]
    log_dir = os.path.join(root, 'test_tipc/output/fastfcn_encnet_jpu_r50/lite_train_lite_infer')
    lines = status_lines(os.path.join(log_dir, 'results_python.log'))
    assert lines and all(line.startswith('Run successfully with command - fastfcn_encnet_jpu_r50 - ')
                         for line in lines), '\n'.join(lines)
    commands = [STATUS_LINE.match(line).group(3) for line in lines]
    save_dir = './test_tipc/output/fastfcn_encnet_jpu_r50/lite_train_lite_infer/norm_train_gpus_-1_autocast_null'
    (train,) = [c for c in commands if ' train.py ' in c]
    assert '--do_eval' in train and '--iters=20' in train and '--batch_size=2' in train and '--device=cpu' in train
    (evaluate,) = [c for c in commands if ' val.py ' in c]
    assert '--model_path={}/best_model/model.pdparams'.format(save_dir) in evaluate
    (export,) = [c for c in commands if ' export.py ' in c]
    assert '--save_dir={}'.format(save_dir) in export
    infers = [c for c in commands if 'deploy/python/infer.py' in c]
    settings = {(re.search(r'--enable_mkldnn=(\w+)', c).group(1), re.search(r'--batch_size=(\d+)', c).group(1))
                for c in infers}
    assert len(infers) == 4 and settings == {('True', '1'), ('True', '2'), ('False', '1'), ('False', '2')}
    masks = {}
    for mkldnn, batch in settings:
        results = os.path.join(log_dir, 'python_infer_cpu_usemkldnn_{}_threads_2_precision_fp32_batchsize_{}'
                               '_results'.format(mkldnn, batch))
        names = sorted(n for n in os.listdir(results) if n.endswith('.png'))
        assert len(names) == 4, results
        masks[mkldnn, batch] = np.stack([cv2.imread(os.path.join(results, n)) for n in names])
    # oneDNN has silently changed FastFCN's outputs before (bilinear resize): every setting must agree.
    reference = masks['False', '1']
    for setting, mask in masks.items():
        agreement = (mask == reference).all(axis=-1).mean()
        assert agreement >= 0.99, (setting, agreement)


@pytest.mark.tipc
@pytest.mark.slow
def test_paddle2onnx_infer_converts_the_lite_model_and_runs_onnxruntime(lite_run):
    root, _ = lite_run
    prepare = run_script(root, 'test_tipc/prepare.sh', ENCNET_ONNX_TXT, 'paddle2onnx_infer')
    assert prepare.returncode == 0, prepare.stdout[-3000:]
    result = run_script(root, 'test_tipc/test_paddle2onnx.sh', ENCNET_ONNX_TXT, 'paddle2onnx_infer')
    assert result.returncode == 0, result.stdout[-5000:]
    log_dir = os.path.join(root, 'test_tipc/output/fastfcn_encnet_jpu_r50/paddle2onnx_infer')
    lines = status_lines(os.path.join(log_dir, 'results_paddle2onnx.log'))
    assert len(lines) == 2 and all(line.startswith('Run successfully') for line in lines), lines
    assert lines[0].split(' - ')[2].strip().startswith('paddle2onnx ') and '--backend onnxruntime' in lines[1]
    assert os.path.isfile(os.path.join(log_dir, 'inference_model/model.onnx'))
    assert len([n for n in os.listdir(os.path.join(log_dir, 'onnx_results')) if n.endswith('.png')]) == 4


@pytest.mark.tipc
def test_failed_step_is_recorded_as_failed_and_fails_the_driver(tmp_path):
    """whole_infer on weights that do not exist: export must fail, be logged as failed, and fail the run."""
    root = make_scratch_tree(tmp_path)
    lines = config_lines(os.path.join(REPO, ENCNET_TXT))
    missing = os.path.join(root, 'no_such_dir', 'model.pdparams')
    lines[1] = 'model_name:broken_probe'
    lines[36] = 'infer_model:' + missing
    lines[41] = '--enable_mkldnn:False'  # one inference setting keeps this test fast
    lines[43] = '--batch_size:1'
    txt = os.path.join(root, 'broken_train_infer_python.txt')
    with open(txt, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    result = run_script(root, 'test_tipc/test_train_inference_python.sh', txt, 'whole_infer')
    assert result.returncode != 0, result.stdout[-3000:]
    log = os.path.join(root, 'test_tipc/output/broken_probe/whole_infer/results_python.log')
    statuses = [STATUS_LINE.match(line) for line in status_lines(log)]
    assert [m.group(1) for m in statuses] == ['failed', 'failed'], statuses
    assert ' export.py ' in statuses[0].group(3) and '--model_path={}'.format(missing) in statuses[0].group(3)
    assert 'deploy/python/infer.py' in statuses[1].group(3)


@pytest.mark.tipc
@pytest.mark.parametrize('mode', ['cpp_infer', 'serving_infer', 'klquant_whole_infer', 'benchmark_train'])
def test_prepare_refuses_modes_this_project_does_not_support(tmp_path, mode):
    root = make_scratch_tree(tmp_path)
    result = run_script(root, 'test_tipc/prepare.sh', ENCNET_TXT, mode)
    assert result.returncode == 1 and 'not supported' in result.stdout
    assert not os.path.exists(os.path.join(root, 'test_tipc', 'data'))


@pytest.mark.tipc
def test_prepare_whole_infer_without_weights_says_how_to_give_them(tmp_path):
    root = make_scratch_tree(tmp_path)
    env_weights = os.environ.pop('TIPC_WEIGHTS', None)
    try:
        result = run_script(root, 'test_tipc/prepare.sh', ENCNET_TXT, 'whole_infer')
    finally:
        if env_weights is not None:
            os.environ['TIPC_WEIGHTS'] = env_weights
    assert result.returncode != 0
    assert 'TIPC_WEIGHTS' in result.stdout and 'lite_train_lite_infer' in result.stdout
    missing = os.path.join(str(tmp_path), 'missing.pdparams')
    result = run_script(root, 'test_tipc/prepare.sh', ENCNET_TXT, 'whole_infer', missing)
    assert result.returncode != 0 and 'weights not found: ' + missing in result.stdout
