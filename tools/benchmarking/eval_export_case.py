"""The exported model evaluated on a dataset against dygraph val.py (``deploy.evaluate``).

Not one tensor but the whole evaluation loop (reading, inference, metrics) of a real
protocol, per backend: images/s and whether the areas equal dygraph's.
``measure`` is used by the ``eval_export`` case (mini set, initial weights) and by
tools/eval_export_speed.py (any config and checkpoint).
"""
import os
import time

import numpy as np

from .model_zoo import DEFAULT_CONFIG_DIR

BACKENDS = (('paddle', ['--enable_mkldnn', 'False']), ('paddle_onednn', ['--enable_mkldnn', 'True']),
            ('onnxruntime', ['--backend', 'onnxruntime']))
AREAS = ('intersect_area', 'pred_area', 'label_area')


def measure(config, model_path, work_dir, threads=1, opts=None, protocol_args=()):
    """One evaluation per backend; returns ``[{backend, miou, images_per_s, seconds, areas_equal}]``.

    Args:
        config (str): the training YAML (val_dataset, model, test_config).
        model_path (str | None): weights; None saves the config's initial weights.
        work_dir (str): export and metrics files go here.
        threads (int): predictor threads (dygraph's are OMP_NUM_THREADS, set before start).
        opts (list[str] | None): config overrides (``key=value``).
        protocol_args (sequence[str]): val.py's inference flags (``--is_slide ...``).
    """
    import paddle
    from paddleseg_fastfcn.core.builder import build_model, builder, load_config
    from paddleseg_fastfcn.core.evaluate import evaluate
    from paddleseg_fastfcn.core.export import export_model
    from paddleseg_fastfcn.core.inference import load_model_weights
    from paddleseg_fastfcn.core.inference_options import InferenceOptions
    from paddleseg_fastfcn.core.onnx_export import export_onnx
    from paddleseg_fastfcn.datasets import validate_dataset
    from paddleseg_fastfcn.deploy.evaluate import evaluate_export, parse_args

    cfg = load_config(config, opts=opts)
    model = build_model(cfg, load_pretrained=False)  # the weights are model_path's (or the initial ones)
    os.makedirs(work_dir, exist_ok=True)
    if model_path is None:
        model_path = os.path.join(work_dir, 'initial.pdparams')
        paddle.save(model.state_dict(), model_path)
    load_model_weights(model, model_path)
    export_dir = os.path.join(work_dir, 'export')
    export_model(config, model_path, export_dir, output_op='none')
    export_onnx(export_dir)
    eval_args = parse_args(['--config', os.path.join(export_dir, 'deploy.yaml'), '--dataset_config', config]
                           + list(protocol_args))
    dataset = validate_dataset(builder(cfg).val_dataset, cfg.val_dataset_cfg)
    start = time.perf_counter()
    reference = evaluate(model, dataset, options=InferenceOptions.from_config(cfg.test_config, eval_args),
                         print_detail=False)
    seconds = time.perf_counter() - start
    rows = [{'backend': 'dygraph (val.py)', 'miou': reference['miou'], 'seconds': seconds,
             'images_per_s': reference['num_images'] / seconds, 'areas_equal': True}]
    for name, flags in BACKENDS:
        args = parse_args(['--config', os.path.join(export_dir, 'deploy.yaml'), '--dataset_config', config,
                           '--save_dir', os.path.join(work_dir, 'eval_' + name), '--cpu_threads', str(threads),
                           '--print_detail', 'False'] + (['--opts'] + list(opts) if opts else [])
                          + flags + list(protocol_args))
        result = evaluate_export(args)
        rows.append({'backend': name, 'miou': result['miou'], 'seconds': result['seconds'],
                     'images_per_s': result['images_per_s'],
                     'areas_equal': all(np.array_equal(result[k], reference[k]) for k in AREAS)})
    return rows


def format_rows(rows, num_images, threads):
    lines = ['{} images, {} thread(s), one run each'.format(num_images, threads), '',
             '| backend | mIoU | images/s | vs dygraph | areas == dygraph |', '|---|---|---|---|---|']
    base = rows[0]['images_per_s']
    for r in rows:
        lines.append('| {} | {:.4f} | {:.2f} | {:.2f}x | {} |'.format(
            r['backend'], r['miou'], r['images_per_s'], r['images_per_s'] / base, r['areas_equal']))
    return '\n'.join(lines)



def run_eval_export(spec):
    """The ``eval_export`` case: a mini set of ``num_images`` 64x64 images, the config's initial weights."""
    from paddleseg_fastfcn.datasets.synthetic import write_dataset
    config = os.path.join(spec.get('config_dir') or DEFAULT_CONFIG_DIR, spec['params']['config'])
    if not os.path.isfile(config):
        raise FileNotFoundError('eval_export: config not found: {}'.format(config))
    work = os.path.join(spec['workdir'], spec['case'])
    root = os.path.join(work, 'mini')
    num_images = spec['params']['num_images']
    write_dataset(root, num_train=1, num_val=num_images, size=64)
    rows = measure(config, None, work, spec['threads'],
                   opts=['train_dataset.dataset_root=' + root, 'val_dataset.dataset_root=' + root])
    return {'median_s': rows[0]['seconds'] / num_images, 'rows': rows, 'num_images': num_images}
