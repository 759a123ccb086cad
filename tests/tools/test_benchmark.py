"""tools/benchmark.py: the quick mode runs every kind of row; the library's pieces measure what they claim.

No timing assertions: times on a shared machine are not reproducible.
"""
import glob
import json
import os
import subprocess
import sys

import numpy as np
import paddle
import pytest

from paddleseg_fastfcn.utils.model_cost import MacCounter, count_parameters

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOLS = os.path.join(REPO, 'tools')
sys.path.insert(0, TOOLS)
from benchmarking.cases import OWN_MODELS, select_cases  # noqa: E402
from benchmarking.comparisons import compare  # noqa: E402
from benchmarking.machine import KERNEL_FLAGS, cpu_flags, flags_text  # noqa: E402
from benchmarking.model_zoo import (DEFAULT_CONFIG_DIR, build_benchmark_model, find_config,  # noqa: E402
                                    training_losses)
from benchmarking.timing import time_repeats  # noqa: E402
BASE = """\
batch_size: 2
iters: 10
train_dataset: {type: ADE20K, dataset_root: data/ade, mode: train, transforms: [{type: Normalize}]}
val_dataset: {type: ADE20K, dataset_root: data/ade, mode: val, transforms: [{type: Normalize}]}
optimizer: {type: SGD, momentum: 0.9, weight_decay: 1.0e-4}
lr_scheduler: {type: PolynomialDecay, learning_rate: 0.01, power: 0.9, end_lr: 0}
loss:
  types: [{type: SegCrossEntropyLoss}, {type: SegCrossEntropyLoss}, {type: SemanticEncodingLoss}]
  coef: [1, 0.2, 0.2]
"""
ENC_JPU = """\
_base_: base.yml
model:
  type: FastFCNSegmentor
  backbone: {type: DeepStemResNet50, output_stride: 32}
  neck: {type: JointPyramidUpsampling, in_channels: [512, 1024, 2048], width: 512}
  head: {type: EncHead, num_classes: 150, in_channels: 2048}
  aux_head: {type: FCNAuxHead, num_classes: 150, in_channels: 1024}
"""
ENC_OS8 = """\
_base_: base.yml
model:
  type: FastFCNSegmentor
  backbone: {type: DeepStemResNet50, output_stride: 8}
  head: {type: EncHead, num_classes: 150, in_channels: 2048, conv5_kernel_size: 3}
  aux_head: {type: FCNAuxHead, num_classes: 150, in_channels: 1024}
"""


def write_configs(root):
    """EncNet+JPU and OS8 R50 configs at the file names the benchmark reads (independent of configs/)."""
    os.makedirs(root / 'encnet')
    (root / 'encnet' / 'base.yml').write_text(BASE)
    (root / OWN_MODELS['enc_jpu_r50'][1]).write_text(ENC_JPU)
    (root / OWN_MODELS['enc_os8_r50'][1]).write_text(ENC_OS8)
    return root


def test_select_cases_adds_export_for_deploy_and_rejects_unknown_names():
    names = [c.name for c in select_cases(['deploy_onnxruntime'])]
    assert names == ['export', 'deploy_onnxruntime']
    # Each model's deploy rows read that model's own export.
    cases = select_cases(['deploy_onnxruntime_enc_os8_r50', 'deploy_paddle_inference_onednn'])
    assert [c.name for c in cases] == ['export', 'deploy_paddle_inference_onednn', 'export_enc_os8_r50',
                                       'deploy_onnxruntime_enc_os8_r50']
    assert cases[-1].params == {'backend': 'onnxruntime', 'model': 'enc_os8_r50', 'export': 'export_enc_os8_r50'}
    with pytest.raises(ValueError, match='unknown case.*no_such_case'):
        select_cases(['gemm', 'no_such_case'])


def test_cpu_flags_lists_the_kernel_relevant_instruction_sets(tmp_path):
    avx2 = tmp_path / 'avx2'
    avx2.write_text('processor\t: 0\nmodel name\t: X\nflags\t\t: fpu sse avx avx2 fma\n\nprocessor\t: 1\n')
    amx = tmp_path / 'amx'
    amx.write_text('flags\t\t: avx2 avx512f avx512_vnni avx512_bf16 amx_bf16 amx_tile amx_int8 avx512bw\n')
    assert cpu_flags(str(avx2)) == ['avx2']
    assert cpu_flags(str(amx)) == list(KERNEL_FLAGS)
    assert cpu_flags(str(tmp_path / 'missing')) is None
    assert flags_text(['avx2']) == 'flags: avx2; lacks: ' + ' '.join(KERNEL_FLAGS[1:])
    assert flags_text(list(KERNEL_FLAGS)) == 'flags: ' + ' '.join(KERNEL_FLAGS)
    assert flags_text(None) == 'instruction-set flags not recorded'


def test_time_repeats_runs_warmup_then_repeats():
    calls = []
    timing = time_repeats(lambda: calls.append(1), warmup=2, repeats=3)
    assert len(calls) == 5 and len(timing['times_s']) == 3
    assert min(timing['times_s']) == timing['min_s'] <= timing['median_s']


def test_peak_rss_sees_an_allocation_inside_the_block():
    # In a fresh process, as the benchmark measures every case: in this long-lived
    # test process the allocator may hand back pages that are already resident.
    code = ('import numpy as np\n'
            'from benchmarking.memory import PeakRSS\n'
            'with PeakRSS() as mem:\n'
            '    block = np.ones(64 * 2 ** 20 // 8)  # 64 MiB, touched\n'
            '    block.sum()\n'
            'print(mem.reset, mem.delta_mb)\n')
    out = subprocess.run([sys.executable, '-c', code], cwd=TOOLS, capture_output=True, text=True, check=True)
    reset, delta_mb = out.stdout.split()[-2:]
    assert reset == 'True'
    assert float(delta_mb) >= 48


def test_mac_counter_counts_conv_and_linear_multiply_adds():
    model = paddle.nn.Sequential(paddle.nn.Conv2D(3, 8, 3, padding=1, groups=1),
                                 paddle.nn.Conv2D(8, 8, 3, padding=1, groups=8),
                                 paddle.nn.Flatten(), paddle.nn.Linear(8 * 16 * 16, 10))
    with MacCounter(model) as counter:
        model(paddle.ones([2, 3, 16, 16]))
    expected = 2 * 16 * 16 * 8 * (3 * 9) + 2 * 16 * 16 * 8 * 9 + 2 * 10 * 8 * 16 * 16
    assert counter.macs == expected
    model(paddle.ones([2, 3, 16, 16]))  # hooks removed on exit
    assert counter.macs == expected
    assert count_parameters(model) == 8 * 3 * 9 + 8 + 8 * 9 + 8 + 8 * 16 * 16 * 10 + 10


def test_compare_gives_ratios_and_refuses_wrong_outputs(tmp_path):
    ok = lambda t, **kw: dict(status='ok', median_s=t, **kw)  # noqa: E731
    results = {'enc_os8_r50': ok(3.0), 'enc_jpu_r50': ok(1.0), 'enc_os8_r101': ok(2.0), 'enc_jpu_r101': ok(1.0),
               'train_paddleseg_fastfcn': {'status': 'error', 'error': 'boom'}, 'train_enc_jpu_r50': ok(1.0),
               'gemm': ok(0.1, gflops=100.0),
               'deploy_onnxruntime': ok(0.5, macs=10e9, max_abs_diff=1e-5, reference_max_abs=5.0),
               'deploy_paddle_inference_onednn': ok(0.1, macs=10e9, max_abs_diff=0.5, reference_max_abs=5.0)}
    results['deploy_onnxruntime_enc_os8_r50'] = ok(0.9, macs=20e9, max_abs_diff=1e-5, reference_max_abs=5.0)
    results['deploy_paddle_inference_onednn_enc_os8_r50'] = ok(0.9, macs=20e9, max_abs_diff=1e-5,
                                                                reference_max_abs=5.0)
    rows = {r['comparison']: r for r in compare(results, str(tmp_path))}
    assert rows['EncNet+JPU R50 vs EncNet OS8 R50 (eval)']['ratio'] == pytest.approx(3.0)
    assert rows['EncNet+JPU R101 vs EncNet OS8 R101 (eval)']['ratio'] == pytest.approx(2.0)
    # Under the deploy runtimes: ONNX Runtime 0.9 / 0.5 = 1.8x; the oneDNN pair
    # has no ratio at all because the JPU model's oneDNN output is wrong.
    onnx_pair = rows['EncNet+JPU R50 vs EncNet OS8 R50 (ONNX Runtime)']
    assert onnx_pair['ratio'] == pytest.approx(1.8) and onnx_pair['detail'] == ''
    onednn_pair = rows['EncNet+JPU R50 vs EncNet OS8 R50 (Paddle Inference, oneDNN)']
    assert onednn_pair['ratio'] is None and 'WRONG OUTPUT' in onednn_pair['detail']
    rows = {r['comparison'].split(' (')[0]: r for r in rows.values()}
    train = rows['Training step: EncNet+JPU R50 vs PaddleSeg 2.8 FastFCN']
    assert train['ratio'] is None and 'train_paddleseg_fastfcn' in train['detail']
    # The oneDNN row is faster but wrong, so the best correct backend is ONNX Runtime: 40 GFLOP/s of 100.
    best = rows['Best deploy backend']
    assert best['ratio'] == pytest.approx(0.4) and 'deploy_onnxruntime' in best['detail']
    assert 'WRONG OUTPUT' in rows['Paddle Inference oneDNN on vs dygraph']['detail']


def test_every_own_model_has_a_config_in_the_repo():
    if not glob.glob(os.path.join(DEFAULT_CONFIG_DIR, '**', '*.yml'), recursive=True):
        pytest.skip('configs/ holds no config yet')
    for key in OWN_MODELS:
        assert os.path.isfile(find_config(key))


def test_own_model_follows_num_classes_option(tmp_path):
    config_dir = write_configs(tmp_path / 'configs')
    model, source = build_benchmark_model('enc_jpu_r50', 7, str(config_dir))
    assert source.endswith(OWN_MODELS['enc_jpu_r50'][1])
    model.eval()
    with paddle.no_grad():
        assert list(model(paddle.ones([1, 3, 64, 64]))[0].shape) == [1, 7, 64, 64]
    # PaddleSeg's FastFCN as shipped: dilated (output stride 8) backbone, lateral convs on.
    paddleseg_model, _ = build_benchmark_model('paddleseg_fastfcn', 7)
    paddleseg_model.eval()
    with paddle.no_grad():
        feats = paddleseg_model.backbone(paddle.ones([1, 3, 64, 64]))
    assert list(feats[-1].shape[2:]) == [8, 8] and paddleseg_model.add_lateral


def test_training_rows_take_the_loss_section_of_the_encnet_config(tmp_path):
    losses = training_losses(str(write_configs(tmp_path / 'configs')))
    assert losses['coef'] == [1, 0.2, 0.2]
    assert [type(t).__name__ for t in losses['types']] == [
        'SegCrossEntropyLoss', 'SegCrossEntropyLoss', 'SemanticEncodingLoss']


def test_missing_config_names_the_model_and_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='enc_os8_r101.*encnet_os8_r101_ade20k'):
        find_config('enc_os8_r101', str(tmp_path))


@pytest.mark.slow
def test_quick_run_prints_every_selected_row_and_writes_json(tmp_path):
    config_dir = write_configs(tmp_path / 'configs')
    json_path = tmp_path / 'bench.json'
    cases = ['gemm', 'enc_jpu_r50', 'paddleseg_fastfcn', 'encoding_ours', 'encoding_paddleseg',
             'deploy_onnxruntime', 'deploy_onnxruntime_enc_os8_r50', 'train_enc_jpu_r50']
    proc = subprocess.run(
        [sys.executable, os.path.join(REPO, 'tools', 'benchmark.py'), '--quick', '--threads', '1',
         '--num_classes', '5', '--config_dir', str(config_dir), '--json', str(json_path), '--cases'] + cases,
        capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads(json_path.read_text())
    assert [c['name'] for c in doc['case_list']] == [c.name for c in select_cases(cases)]
    for name, result in doc['cases'].items():
        assert result['status'] == 'ok', (name, result)
        assert result['settings']['threads'] == 1 if name != 'gemm' else True
    for name in ('enc_jpu_r50', 'paddleseg_fastfcn', 'deploy_onnxruntime'):
        assert doc['cases'][name]['macs'] > 0 and doc['cases'][name]['params'] > 0
        assert doc['cases'][name]['peak_rss_mb'] > 0
    assert doc['cases']['enc_jpu_r50']['output_shape'] == [1, 5, 64, 64]
    assert doc['cases']['deploy_onnxruntime']['max_abs_diff'] < 1e-3
    # The OS8 model was exported separately: more MACs than the JPU model, its own correct output.
    os8 = doc['cases']['deploy_onnxruntime_enc_os8_r50']
    assert os8['macs'] > doc['cases']['deploy_onnxruntime']['macs'] and os8['max_abs_diff'] < 1e-3
    assert doc['cases']['enc_jpu_r50']['settings']['malloc'].startswith('glibc keeps freed memory')
    assert doc['cases']['gemm']['gflops'] > 0
    comparisons = {r['comparison'] for r in doc['comparisons']}
    assert 'Encoding fwd+bwd time: ours vs PaddleSeg 2.8' in comparisons
    memory_row = [r for r in doc['comparisons'] if r['comparison'].startswith('Encoding fwd+bwd peak memory')][0]
    assert memory_row['agreement']['output']['max_abs_diff'] < 1e-3
    for label in ('EncNet+JPU R50', 'PaddleSeg 2.8 FastFCN', 'ONNX Runtime', 'numpy fp32 GEMM', 'train step'):
        assert label in proc.stdout
    assert '| comparison (slow / fast) |' in proc.stdout
    # The report names the instruction sets the numbers were measured with.
    assert doc['machine']['cpu_flags'] == cpu_flags()
    assert flags_text(cpu_flags()) in proc.stdout


def load_cli():
    import importlib.util
    spec = importlib.util.spec_from_file_location('benchmark_cli', os.path.join(REPO, 'tools', 'benchmark.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_defaults_quick_mode_and_option_checks():
    cli = load_cli()
    full = cli.parse_args([])
    assert full.size == [512, 512] and full.train_size == [480, 480] and full.num_classes == 150
    assert full.threads == os.cpu_count() and full.repeats >= 3 and full.warmup >= 1
    quick = cli.parse_args(['--quick', '--size', '96', '128', '--env', 'MKL_DEBUG_CPU_TYPE=5'])
    assert quick.size == [96, 128] and quick.repeats == 1 and quick.env == {'MKL_DEBUG_CPU_TYPE': '5'}
    for bad in (['--size', '100'], ['--repeats', '0'], ['--env', 'NO_EQUALS_SIGN']):
        with pytest.raises(SystemExit):
            cli.parse_args(bad)


def test_scaling_cases_have_their_own_shapes_and_one_export_each():
    from benchmarking.scaling import input_shape
    cases = select_cases(['scale_onnxruntime_enc_os8_r50_b1_2x4', 'scale_paddle_inference_onednn_enc_os8_r50_b1_2x4',
                          'scale_dygraph_enc_jpu_r50_b4_1x1'])
    assert [c.name for c in cases] == ['scale_dygraph_enc_jpu_r50_b4_1x1', 'scale_export_enc_os8_r50_b1_2x4',
                                       'scale_paddle_inference_onednn_enc_os8_r50_b1_2x4',
                                       'scale_onnxruntime_enc_os8_r50_b1_2x4']
    assert input_shape(cases[-1].params, 512) == (1, 1024, 2048)
    assert input_shape(cases[0].params, 32) == (4, 32, 32)  # --quick: the same shapes at 1/16


def test_scaling_table_gives_ms_per_megapixel_and_growth():
    from benchmarking.scaling import render_table
    cases = select_cases(['scale_dygraph_enc_jpu_r50_b1_1x1', 'scale_dygraph_enc_jpu_r50_b1_2x4'])
    doc = {'settings': {'scaling_unit': 512},
           'case_list': [{'name': c.name, 'kind': c.kind, 'label': c.label, 'params': c.params} for c in cases],
           'cases': {cases[0].name: {'status': 'ok', 'median_s': 0.5, 'peak_rss_mb': 1000.0},
                     cases[1].name: {'status': 'ok', 'median_s': 5.0, 'peak_rss_mb': 3000.0}}}
    row = [line for line in render_table(doc, lambda key: key) if line.startswith('| enc_jpu_r50')][0]
    # 0.5 s / 0.262 MP = 1907 ms/MP; 5.0 s / 2.10 MP = 2384 ms/MP: 1.25x growth.
    assert '| 1907 / 1000 |' in row and '| 2384 / 3000 |' in row and row.endswith('| 1.25x |')


def test_torch_peer_rows_say_why_they_are_not_measured(capsys, tmp_path):
    cli = load_cli()
    assert cli.main(['--quick', '--cases', 'torch_enc_jpu_r50']) == 0
    assert 'not measured: no --official_repo given' in capsys.readouterr().out
    # A checkout but a python without torch (CI's): the child says so.
    code = cli.main(['--quick', '--cases', 'torch_enc_jpu_r50', 'enc_jpu_r50', '--official_repo', str(tmp_path),
                     '--torch_python', sys.executable, '--config_dir', str(write_configs(tmp_path / 'configs')),
                     '--num_classes', '5', '--threads', '1'])
    out = capsys.readouterr().out
    try:
        import torch  # noqa: F401
    except ImportError:
        assert 'not measured: torch is not importable' in out
        assert 'EncNet+JPU R50 time, ours / official PyTorch: dygraph | - | not measured: torch_enc_jpu_r50' in out
        assert code == 0


def test_profile_stages_times_every_stage(tmp_path):
    from benchmarking.stages import profile_stages, render
    model, _ = build_benchmark_model('enc_jpu_r50', 5, str(write_configs(tmp_path / 'configs')))
    model.eval()
    table = profile_stages(model, paddle.ones([1, 3, 64, 64]), repeats=1)
    for stage in ('backbone: stem', 'backbone: layer4', 'neck (JPU)', 'head: Encoding module',
                  'logits resize (+ segmentor glue)'):
        assert table[stage] >= 0
    assert sum(v for k, v in table.items() if k != 'total') == pytest.approx(table['total'], rel=1e-6)
    assert '| neck (JPU) |' in render([table, table], [(1, 64, 64), (1, 64, 64)])
