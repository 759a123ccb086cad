"""mIoU and speed of val.py (dygraph) next to the exported model under every backend.

    OMP_NUM_THREADS=2 python tools/eval_export_speed.py \
        --config configs/mini/encnet_jpu_r50_mini_64x64_400.yml \
        [--model_path output/mini/best_model/model.pdparams] --work_dir output/eval_export \
        [--opts val_dataset.dataset_root=data/mini_ade20k] [--is_slide --crop_size 48 48 --stride 32 32]

Exports ``--model_path`` once with ``--output_op none`` (and ONNX), evaluates it with
``core.evaluate`` (val.py's dygraph path) and with ``deploy.evaluate`` under Paddle
Inference (oneDNN off / on) and ONNX Runtime, each once, on the same data, protocol
and thread count (OMP_NUM_THREADS, also the predictors' threads), and prints one row
per backend: mIoU, images/s (the whole loop: reading, inference, metrics), speed vs
dygraph and whether the areas equal dygraph's. ``measure`` is the function a
benchmark can call. Without ``--model_path`` the config's initial weights are saved
and used (speed is the same; the mIoU is then that of an untrained model).
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

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
    model = build_model(cfg)
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


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--config', required=True)
    p.add_argument('--model_path', default=None)
    p.add_argument('--work_dir', default='output/eval_export')
    p.add_argument('--opts', nargs='+', default=None)
    args, protocol_args = p.parse_known_args(argv)
    threads = int(os.environ.get('OMP_NUM_THREADS', '1'))
    rows = measure(args.config, args.model_path, args.work_dir, threads, args.opts, protocol_args)
    num_images = int(round(rows[0]['images_per_s'] * rows[0]['seconds']))
    print(format_rows(rows, num_images, threads))
    return 0


if __name__ == '__main__':
    sys.exit(main())
