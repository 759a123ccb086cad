"""What the benchmark measures: the case list (pure data).

A case is one row of the table, run in its own child process by ``worker``.
Kinds: ``gemm`` (machine yardstick), ``eval`` (dygraph inference latency),
``export`` (writes the static model once for the deploy rows), ``deploy``
(Paddle Inference / ONNX Runtime on that export), ``train`` (one optimizer step),
``encoding`` (the Encoding layer alone, forward + backward), ``eval_export``
(dataset evaluation: dygraph val.py vs the exported model per backend) and ``torch``
(the official PyTorch code, run under ``--torch_python``). The scaling rows (``scale_*``,
``scaling.py``) are eval / export / deploy cases with their own input shape.
"""
import collections

from .scaling import SCALING_BACKENDS, SCALING_MODELS, SCALING_SHAPES, case_name as scaling_case_name

Case = collections.namedtuple('Case', ['name', 'kind', 'label', 'params'])

# This project's models: (table label, config file under the config directory). The
# ADE20K configs, named explicitly: the benchmark measures exactly these files.
OWN_MODELS = collections.OrderedDict([
    ('enc_jpu_r50', ('EncNet+JPU R50', 'encnet/encnet_jpu_r50_ade20k_480x480_120e.yml')),
    ('enc_os8_r50', ('EncNet OS8 R50', 'encnet/encnet_os8_r50_ade20k_480x480_120e.yml')),
    ('psp_jpu_r50', ('PSP+JPU R50', 'psp/psp_jpu_r50_ade20k_480x480_120e.yml')),
    ('psp_os8_r50', ('PSP OS8 R50', 'psp/psp_os8_r50_ade20k_480x480_120e.yml')),
    ('deeplabv3_jpu_r50', ('DeepLabV3+JPU R50', 'deeplabv3/deeplabv3_jpu_r50_ade20k_480x480_120e.yml')),
    ('deeplabv3_os8_r50', ('DeepLabV3 OS8 R50', 'deeplabv3/deeplabv3_os8_r50_ade20k_480x480_120e.yml')),
    ('enc_jpu_r101', ('EncNet+JPU R101', 'encnet/encnet_jpu_r101_ade20k_480x480_120e.yml')),
    ('enc_os8_r101', ('EncNet OS8 R101', 'encnet/encnet_os8_r101_ade20k_480x480_120e.yml')),
])

# PaddleSeg 2.8's models exactly as its shipped configs build them (PaddleSeg
# repository, commit d7975e7c: configs/fastfcn/fastfcn_resnet50_os8_ade20k_480x480_120k.yml,
# configs/encnet/encnet_resnet101_os8_cityscapes_1024x512_80k.yml,
# configs/fastscnn/fastscnn_cityscapes_1024x1024_160k.yml). Only `pretrained`
# is dropped (no download; weights do not change the speed) and num_classes is
# the benchmark's.
PADDLESEG_MODELS = collections.OrderedDict([
    ('paddleseg_fastfcn', ('PaddleSeg 2.8 FastFCN (R50_vd OS8+JPU+lateral)', {
        'type': 'FastFCN',
        'backbone': {'type': 'ResNet50_vd', 'output_stride': 8},
        'num_codes': 32, 'mid_channels': 512, 'use_jpu': True, 'aux_loss': True,
        'use_se_loss': True, 'add_lateral': True})),
    ('paddleseg_encnet', ('PaddleSeg 2.8 ENCNet (R101_vd OS8+lateral)', {
        'type': 'ENCNet',
        'backbone': {'type': 'ResNet101_vd', 'output_stride': 8},
        'num_codes': 32, 'mid_channels': 512, 'backbone_indices': [1, 2, 3],
        'use_se_loss': True, 'add_lateral': True})),
    ('paddleseg_fastscnn', ('PaddleSeg 2.8 FastSCNN', {
        'type': 'FastSCNN', 'enable_auxiliary_loss': True})),
])

DEPLOY_MODEL = 'enc_jpu_r50'
DEPLOY_BACKENDS = collections.OrderedDict([
    ('paddle_inference', ('Paddle Inference, oneDNN off', {'backend': 'paddle_inference', 'onednn': False})),
    ('paddle_inference_onednn', ('Paddle Inference, oneDNN on', {'backend': 'paddle_inference', 'onednn': True})),
    ('onnxruntime', ('ONNX Runtime (CPU EP)', {'backend': 'onnxruntime'})),
])
# The paper's EncNet pairs (OS8 R50, JPU and OS8 R101) also go through the fast deploy
# runtimes: dygraph on CPU runs Paddle's generic kernels (a dilated depthwise conv at
# ~3 GFLOP/s), oneDNN and ONNX Runtime do not, so the JPU-vs-OS8 ratio is measured in both.
PAIR_BACKENDS = ('paddle_inference_onednn', 'onnxruntime')
TRAIN_MODELS = ('enc_jpu_r50', 'paddleseg_fastfcn')
# Both training rows use the loss section of this model's config (see train_case).
TRAIN_LOSS_MODEL = 'enc_jpu_r50'
ENCODING_IMPLS = collections.OrderedDict([
    ('ours', 'paddleseg_fastfcn EncodingLayer (matrix products)'),
    ('paddleseg', 'PaddleSeg 2.8 Encoding (B x N x K x D tensor)'),
])


# The official PyTorch code as a peer (``torch_case``; needs --official_repo and torch).
TORCH_PEERS = collections.OrderedDict([
    ('torch_enc_jpu_r50', ('official PyTorch EncNet+JPU R50', {'jpu': True, 'mode': 'eval'})),
    ('torch_enc_os8_r50', ('official PyTorch EncNet R50 (dilated)', {'jpu': False, 'mode': 'eval'})),
    ('torch_train_enc_jpu_r50', ('official PyTorch train step: EncNet+JPU R50', {'jpu': True, 'mode': 'train'})),
    ('torch_train_enc_os8_r50', ('official PyTorch train step: EncNet R50 (dilated)',
                                 {'jpu': False, 'mode': 'train'})),
])

# The exported model evaluated on the mini set against dygraph val.py: the whole
# evaluation loop per backend, and whether its areas equal dygraph's (eval_export_case).
EVAL_EXPORT_PARAMS = {'config': 'mini/encnet_jpu_r50_mini_64x64_600.yml', 'num_images': 8}


def model_label(key):
    """Table label of a model key of OWN_MODELS or PADDLESEG_MODELS."""
    if key in OWN_MODELS:
        return OWN_MODELS[key][0]
    return PADDLESEG_MODELS[key][0]


# Run order: the rows of the main comparisons first (docs/benchmark.md), cheapest
# first, so an interrupted run still has most of them.
PRIMARY_MODELS = ('enc_jpu_r50', 'enc_os8_r50', 'paddleseg_fastfcn')
R101_MODELS = ('enc_jpu_r101', 'enc_os8_r101')
SECONDARY_MODELS = ('psp_jpu_r50', 'psp_os8_r50', 'deeplabv3_jpu_r50', 'deeplabv3_os8_r50',
                    'paddleseg_encnet', 'paddleseg_fastscnn')


def _eval_case(key):
    return Case(key, 'eval', model_label(key), {'model': key})


def export_case_name(model):
    return 'export' if model == DEPLOY_MODEL else 'export_' + model


def deploy_case_name(backend, model):
    """``deploy_<backend>`` for the main deploy model, ``deploy_<backend>_<model>`` otherwise."""
    return 'deploy_' + backend + ('' if model == DEPLOY_MODEL else '_' + model)


def _deploy_cases(model, backends):
    export = export_case_name(model)
    cases = [Case(export, 'export', 'export ' + model_label(model), {'model': model, 'export': export})]
    for backend in backends:
        label, params = DEPLOY_BACKENDS[backend]
        cases.append(Case(deploy_case_name(backend, model), 'deploy', '{}: {}'.format(model_label(model), label),
                          dict(params, model=model, export=export)))
    return cases


def all_cases():
    """Every case in run order."""
    cases = [Case('gemm', 'gemm', 'numpy fp32 GEMM (BLAS)', {})]
    cases += [_eval_case(key) for key in PRIMARY_MODELS]
    for impl, label in ENCODING_IMPLS.items():
        cases.append(Case('encoding_' + impl, 'encoding', 'Encoding: ' + label, {'impl': impl}))
    cases += _deploy_cases(DEPLOY_MODEL, DEPLOY_BACKENDS)
    cases += _deploy_cases('enc_os8_r50', PAIR_BACKENDS)
    cases += [_eval_case(key) for key in R101_MODELS]
    for key in R101_MODELS:
        cases += _deploy_cases(key, PAIR_BACKENDS)
    for key in TRAIN_MODELS:
        cases.append(Case('train_' + key, 'train', 'train step: ' + model_label(key), {'model': key}))
    cases += [_eval_case(key) for key in SECONDARY_MODELS]
    cases.append(Case('eval_export', 'eval_export', 'mini-set evaluation, s/image of dygraph val.py',
                      EVAL_EXPORT_PARAMS))
    cases += scaling_cases()
    cases += [Case(name, 'torch', label, params) for name, (label, params) in TORCH_PEERS.items()]
    return cases


def scaling_cases():
    """The scaling rows (``scaling.py``): per model and shape, dygraph, one export, its deploy rows."""
    cases = []
    for model in SCALING_MODELS:
        for shape in SCALING_SHAPES:
            size = {'model': model, 'shape': list(shape)}
            for backend, backend_label in SCALING_BACKENDS.items():
                name = scaling_case_name(backend, model, shape)
                label = '{} {}x{}u x{}: {}'.format(model_label(model), shape[1], shape[2], shape[0], backend_label)
                if backend == 'dygraph':
                    cases.append(Case(name, 'eval', label, dict(size, scaling_backend=backend)))
                    continue
                export = scaling_case_name('export', model, shape)
                if export not in (c.name for c in cases):
                    cases.append(Case(export, 'export', 'export ' + label.rsplit(':', 1)[0],
                                      dict(size, export=export, scaling_backend='export')))
                cases.append(Case(name, 'deploy', label,
                                  dict(DEPLOY_BACKENDS[backend][1], export=export, scaling_backend=backend, **size)))
    return cases


def select_cases(names=None):
    """The cases named in ``names`` (all if None), in run order.

    A ``deploy_*`` case needs its model's ``export*`` case, which is added when missing.

    Raises:
        ValueError: an unknown case name (the message lists the known ones).
    """
    cases = all_cases()
    if not names:
        return cases
    known = [c.name for c in cases]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError('unknown case(s) {}; known cases: {}'.format(', '.join(unknown), ', '.join(known)))
    wanted = set(names)
    wanted.update(c.params['export'] for c in cases if c.kind == 'deploy' and c.name in wanted)
    return [c for c in cases if c.name in wanted]
