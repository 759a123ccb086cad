"""The exported model under Paddle Inference (oneDNN off / on) and ONNX Runtime.

``run_export`` writes the static model once (with ``core.export`` and
``core.onnx_export``, the project's own export path) plus the dygraph logits of
the benchmark input; each ``run_deploy`` then times one backend on that export
and reports how far its logits are from dygraph's, so a fast but wrong backend
(a oneDNN kernel that mis-computes, say) cannot pass unnoticed.
"""
import json
import os

import numpy as np
import paddle

from paddleseg_fastfcn.core.export import export_model
from paddleseg_fastfcn.core.onnx_export import export_onnx
from paddleseg_fastfcn.utils.deploy_yaml import FILE_NAME as DEPLOY_FILE, DeployConfig
from paddleseg_fastfcn.deploy.onnx_predictor import OnnxPredictor
from paddleseg_fastfcn.deploy.paddle_predictor import PaddlePredictor
from paddleseg_fastfcn.utils.model_cost import MacCounter, count_parameters

from .memory import PeakRSS
from .model_zoo import build_benchmark_model
from .runtime import image_batch
from .timing import time_repeats

REFERENCE_FILE = 'dygraph_logits.npy'
META_FILE = 'benchmark_meta.json'


def export_dir(spec):
    """The export of the case's model, named after its export case (``export``, ``export_enc_os8_r50``...)."""
    return os.path.join(spec['workdir'], spec['params']['export'])


def run_export(spec):
    """Export the deploy model with a fixed input shape, logits output (``output_op=none``)."""
    model, source = build_benchmark_model(spec['params']['model'], spec['num_classes'],
                                          spec.get('config_dir') or None)
    if not source.endswith('.yml'):
        raise ValueError('the deploy rows export a model of this project (a config), got {}'.format(source))
    model.eval()
    height, width = spec['size']
    x = image_batch(spec['batch_size'], height, width)
    counter = MacCounter(model)
    with paddle.no_grad(), counter:
        reference = model(paddle.to_tensor(x))[0].numpy()
    save_dir = export_dir(spec)
    # Logits, not argmax: the deploy rows are compared with dygraph's logits.
    export_model(source, None, save_dir, input_shape=[spec['batch_size'], 3, height, width],
                 output_op='none', model=model)
    onnx_error = None
    try:
        export_onnx(save_dir)
    except Exception as e:  # the Paddle Inference rows stay useful without ONNX
        onnx_error = '{}: {}'.format(type(e).__name__, e)
    np.save(os.path.join(save_dir, REFERENCE_FILE), reference)
    meta = {'macs': counter.macs, 'params': count_parameters(model), 'source': source,
            'onnx_error': onnx_error}
    with open(os.path.join(save_dir, META_FILE), 'w') as f:
        json.dump(meta, f)
    return dict(meta, export_dir=save_dir, files=sorted(os.listdir(save_dir)))


def _predictor(spec, save_dir):
    params = spec['params']
    threads = spec['threads']
    deploy = DeployConfig(os.path.join(save_dir, DEPLOY_FILE))
    deploy.check_files(params['backend'])  # names the missing file (no ONNX: see the export row)
    if params['backend'] == 'paddle_inference':
        return PaddlePredictor(deploy.model_file, deploy.params_file, device=spec['device'],
                               enable_mkldnn=params['onednn'], cpu_threads=threads)
    if params['backend'] == 'onnxruntime':
        return OnnxPredictor(deploy.onnx_file, device=spec['device'], cpu_threads=threads)
    raise ValueError('unknown deploy backend {!r}'.format(params['backend']))


def run_deploy(spec):
    """Time one backend on the export; ``max_abs_diff`` is against dygraph's logits."""
    save_dir = export_dir(spec)
    if not os.path.isfile(os.path.join(save_dir, META_FILE)):
        raise RuntimeError('no export in {} (the export case failed or did not run)'.format(save_dir))
    with open(os.path.join(save_dir, META_FILE)) as f:
        meta = json.load(f)
    reference = np.load(os.path.join(save_dir, REFERENCE_FILE))
    height, width = spec['size']
    x = image_batch(spec['batch_size'], height, width)
    outputs = []
    with PeakRSS() as mem:
        predictor = _predictor(spec, save_dir)
        timing = time_repeats(lambda: outputs.append(predictor.run(x)), spec['warmup'],
                              spec['repeats'])
    out = outputs[-1]
    if out.shape != reference.shape:
        raise RuntimeError('backend output shape {} != dygraph logits {}'.format(out.shape, reference.shape))
    diff = float(np.abs(out - reference).max())
    scale = float(np.abs(reference).max())
    return dict(timing, macs=meta['macs'], params=meta['params'], source=meta['source'],
                max_abs_diff=diff, reference_max_abs=scale, **mem.as_dict())
