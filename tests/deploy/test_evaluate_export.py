"""deploy/python/eval.py: the exported model evaluated on the mini set gives dygraph val's areas,
for Paddle Inference (oneDNN on / off) and ONNX Runtime, whole image and sliding window.

Tolerance: the areas must be equal, except for pixels whose dygraph logits are a
near-tie (top-2 gap < 1e-4): the runtimes' kernels round float32 differently
(measured ~1e-5 on these logits), which can flip the argmax of such a pixel only.
Each flipped pixel moves one count between two classes' prediction areas (and at
most one intersection count), so the summed |difference| may be at most 2 per tie.
"""
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import paddle
import pytest
import yaml

from paddleseg_fastfcn.core.builder import builder, load_config
from paddleseg_fastfcn.core.evaluate import evaluate
from paddleseg_fastfcn.core.inference import predict_logits
from paddleseg_fastfcn.core.inference_options import InferenceOptions
from paddleseg_fastfcn.datasets.synthetic import CLASS_NAMES, write_dataset
from paddleseg_fastfcn.deploy.evaluate import evaluate_export, main, parse_args
from paddleseg_fastfcn.deploy.exported_logits import ArgmaxExportError
from tests.datasets.helpers import mini_dataset_section
from tests.deploy.exported_models import export_trained_like_model, write_variant_yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TIE_GAP = 1e-4
AREAS = ('intersect_area', 'pred_area', 'label_area')
MODES = {
    'whole': InferenceOptions(),
    'slide': InferenceOptions(is_slide=True, crop_size=(48, 40), stride=(32, 24)),
}
MODE_ARGS = {'whole': [], 'slide': ['--is_slide', '--crop_size', '48', '40', '--stride', '32', '24']}


@pytest.fixture(scope='module')
def mini_export(tmp_path_factory):
    """(config on the mini set, dygraph model, val dataset, logits export dir with ONNX)."""
    work = tmp_path_factory.mktemp('eval_export')
    root = str(work / 'mini')
    write_dataset(root, num_train=1, num_val=4, size=64)
    # The export's transforms are the base config's val transforms (Normalize), as the mini set's.
    base_config, model, save_dir = export_trained_like_model(str(work), 'enc', 'none')
    with open(base_config, encoding='utf-8') as f:
        cfg = yaml.safe_load(f)
    cfg['train_dataset'] = yaml.safe_load(mini_dataset_section(root, 'train'))
    cfg['val_dataset'] = yaml.safe_load(mini_dataset_section(root, 'val'))
    config = str(work / 'enc_mini.yml')
    with open(config, 'w', encoding='utf-8') as f:
        yaml.safe_dump(cfg, f)
    dataset = builder(load_config(config)).val_dataset
    return config, model, dataset, save_dir


def near_ties(model, dataset, options):
    """Pixels (not ignored) whose final dygraph logits' top-2 gap is below TIE_GAP."""
    count = 0
    for i in range(len(dataset)):
        sample = dataset[i]
        im = paddle.to_tensor(np.asarray(sample['img'], 'float32')[None])
        logit = predict_logits(model, im, sample.get('trans_info'), options).numpy()[0]
        top2 = np.sort(logit, axis=0)[-2:]
        label = np.asarray(sample['label']).reshape(logit.shape[1:])
        count += int(((top2[1] - top2[0] < TIE_GAP) & (label != dataset.ignore_index)).sum())
    return count


def eval_args(save_dir, config, out_dir, *extra):
    return parse_args(['--config', os.path.join(save_dir, 'deploy.yaml'), '--dataset_config', config,
                       '--save_dir', out_dir, '--cpu_threads', '1', '--print_detail', 'False'] + list(extra))


@pytest.mark.parametrize('mode', sorted(MODES))
def test_every_backend_gives_dygraph_val_areas(mini_export, tmp_path, mode):
    config, model, dataset, save_dir = mini_export
    reference = evaluate(model, dataset, options=MODES[mode], print_detail=False)
    ties = near_ties(model, dataset, MODES[mode])
    assert reference['label_area'].sum() > 0
    for name, backend in (('onednn', ['--enable_mkldnn', 'True']), ('paddle', ['--enable_mkldnn', 'False']),
                          ('onnxruntime', ['--backend', 'onnxruntime'])):
        out_dir = str(tmp_path / name)
        got = evaluate_export(eval_args(save_dir, config, out_dir, *(backend + MODE_ARGS[mode])))
        np.testing.assert_array_equal(got['label_area'], reference['label_area'])
        diff = sum(int(np.abs(got[k] - reference[k]).sum()) for k in AREAS)
        assert diff <= 2 * ties, (name, mode, diff, ties)
        assert got['miou'] == pytest.approx(reference['miou'], abs=1e-6 if ties == 0 else 1e-2)
        with open(os.path.join(out_dir, 'metrics.json')) as f:
            written = json.load(f)
        assert written['class_names'] == list(CLASS_NAMES)
        assert written['inference']['is_slide'] == (mode == 'slide')
        assert written['images_per_s'] > 0 and os.path.isfile(os.path.join(out_dir, 'class_metrics.csv'))


def test_multi_scale_flip_matches_dygraph(mini_export, tmp_path):
    config, model, dataset, save_dir = mini_export
    options = InferenceOptions(aug=True, scales=(0.75, 1.0), flip_horizontal=True)
    reference = evaluate(model, dataset, options=options, print_detail=False)
    ties = near_ties(model, dataset, options)
    got = evaluate_export(eval_args(save_dir, config, str(tmp_path / 'aug'), '--backend', 'onnxruntime',
                                    '--aug_eval', '--scales', '0.75', '1.0', '--flip_horizontal'))
    diff = sum(int(np.abs(got[k] - reference[k]).sum()) for k in AREAS)
    assert diff <= 2 * ties, (diff, ties)


def argmax_variant(save_dir):
    """A deploy.yaml claiming an argmax export (the refusal happens before the model runs)."""
    return write_variant_yaml(save_dir, 'deploy_argmax.yaml', output_op='argmax')


def test_argmax_export_is_refused_for_slide_and_aug(mini_export, tmp_path):
    config, _, _, save_dir = mini_export
    path = argmax_variant(save_dir)
    for extra in (MODE_ARGS['slide'], ['--aug_eval', '--flip_horizontal']):
        with pytest.raises(ArgmaxExportError, match='--output_op none'):
            evaluate_export(parse_args(['--config', path, '--dataset_config', config,
                                        '--save_dir', str(tmp_path)] + extra))


def test_cli_script_reports_bad_input(mini_export, tmp_path):
    config, _, _, save_dir = mini_export
    proc = subprocess.run([sys.executable, os.path.join(REPO, 'deploy', 'python', 'eval.py'),
                           '--config', argmax_variant(save_dir), '--dataset_config', config] + MODE_ARGS['slide'],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=str(tmp_path))
    assert proc.returncode == 1
    assert 'ArgmaxExportError' in proc.stderr and 'deploy_argmax.yaml' in proc.stderr
    with pytest.raises(SystemExit) as exit_info:  # argparse: the file must exist
        main(['--config', str(tmp_path / 'absent.yaml'), '--dataset_config', config])
    assert exit_info.value.code == 2


def test_fixed_shape_export_leaves_out_and_lists_an_image_of_another_size(tiny_exports, tmp_path):
    base_config, model, save_dir = tiny_exports([1, 3, 64, 64], 'none')
    root = str(tmp_path / 'mini')
    write_dataset(root, num_train=1, num_val=3, size=64)
    with open(base_config, encoding='utf-8') as f:
        cfg = yaml.safe_load(f)
    cfg['train_dataset'] = yaml.safe_load(mini_dataset_section(root, 'train'))
    cfg['val_dataset'] = yaml.safe_load(mini_dataset_section(root, 'val'))
    config = str(tmp_path / 'tiny_mini.yml')
    with open(config, 'w', encoding='utf-8') as f:
        yaml.safe_dump(cfg, f)
    dataset = builder(load_config(config)).val_dataset
    odd_image, odd_label = dataset.file_list[1]
    cv2.imwrite(odd_image, cv2.resize(cv2.imread(odd_image), (48, 40)))
    cv2.imwrite(odd_label, cv2.resize(cv2.imread(odd_label, cv2.IMREAD_GRAYSCALE), (48, 40),
                                      interpolation=cv2.INTER_NEAREST))
    out_dir = str(tmp_path / 'eval')
    proc = subprocess.run([sys.executable, os.path.join(REPO, 'deploy', 'python', 'eval.py'),
                           '--config', os.path.join(save_dir, 'deploy.yaml'), '--dataset_config', config,
                           '--save_dir', out_dir, '--cpu_threads', '1', '--print_detail', 'False'],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=str(tmp_path))
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr, proc.stderr[-2000:]
    assert '1 input(s) failed' in proc.stderr
    assert '{}: the export takes 1x3x64x64, the model would be given 1x3x40x48'.format(odd_image) in proc.stderr
    with open(os.path.join(out_dir, 'metrics.json')) as f:
        metrics = json.load(f)
    assert metrics['num_images'] == 2 and [f[0] for f in metrics['failures']] == [odd_image]
    # The two others are evaluated as dygraph evaluates them (near-ties aside, see the module).
    dataset.file_list = [dataset.file_list[0], dataset.file_list[2]]
    expected = evaluate(model, dataset, print_detail=False)
    np.testing.assert_array_equal(metrics['label_area'], expected['label_area'])
    diff = sum(int(np.abs(np.array(metrics[k]) - expected[k]).sum()) for k in AREAS)
    assert diff <= 2 * near_ties(model, dataset, MODES['whole'])
