"""Small FastFCN models (DeepStemResNet50 + JPU + Enc / PSP / ASPP head) and Fast-SCNN
built from a YAML through the project's builder, with non-trivial BN statistics, saved
as ``.pdparams`` so export.py runs exactly as a user would run it."""
import os
import shutil

import cv2
import numpy as np
import paddle
import yaml

from paddleseg_fastfcn.core.builder import build_model, load_config
from paddleseg_fastfcn.core.export import export_model
from paddleseg_fastfcn.core.onnx_export import export_onnx
from paddleseg_fastfcn.models.segmentors import ExportableFastSCNN

NUM_CLASSES = 5
JPU_WIDTH = 32  # JPU output = 4 * width channels; small keeps CI fast
HEADS = {
    'enc': {'type': 'EncHead', 'channels': 32, 'num_codes': 8, 'use_se_loss': True},
    'psp': {'type': 'PSPHead', 'channels': 32},
    'aspp': {'type': 'ASPPHead', 'channels': 32, 'atrous_rates': [2, 4, 6]},
}
# Not a head: the whole Fast-SCNN model, exported through the same tests.
FAST_SCNN = 'fastscnn'


def model_config(head):
    """The ``model`` section: FastFCNSegmentor with ``head``, or ExportableFastSCNN."""
    if head == FAST_SCNN:
        return {'type': 'ExportableFastSCNN', 'num_classes': NUM_CLASSES, 'enable_auxiliary_loss': True}
    return {
        'type': 'FastFCNSegmentor', 'num_classes': NUM_CLASSES,
        'backbone': {'type': 'DeepStemResNet50', 'output_stride': 32},
        'neck': {'type': 'JointPyramidUpsampling', 'in_channels': [512, 1024, 2048],
                 'width': JPU_WIDTH},
        'head': dict(HEADS[head], num_classes=NUM_CLASSES, in_channels=4 * JPU_WIDTH),
    }


def write_config(path, head, val_transforms=None):
    """A training YAML for FastFCNSegmentor with ``head`` ('enc' | 'psp' | 'aspp') or Fast-SCNN."""
    dataset = {'type': 'Dataset', 'dataset_root': '.', 'num_classes': NUM_CLASSES,
               'transforms': [{'type': 'Normalize'}]}
    losses = 2 if head == FAST_SCNN else 1  # Fast-SCNN trains with [logits, aux logits]
    cfg = {
        'batch_size': 2, 'iters': 10,
        'train_dataset': dict(dataset, train_path='train.txt', mode='train',
                              transforms=[{'type': 'RandomHorizontalFlip'}, {'type': 'Normalize'}]),
        'val_dataset': dict(dataset, val_path='val.txt', mode='val',
                            transforms=val_transforms or [{'type': 'Normalize'}]),
        'optimizer': {'type': 'SGD', 'momentum': 0.9, 'weight_decay': 1.0e-4},
        'lr_scheduler': {'type': 'PolynomialDecay', 'learning_rate': 0.01, 'power': 0.9, 'end_lr': 0},
        'loss': {'types': [{'type': 'SegCrossEntropyLoss'}] * losses, 'coef': [1, 0.4][:losses]},
        'model': model_config(head),
    }
    with open(path, 'w', encoding='utf-8') as f:
        yaml.safe_dump(cfg, f, sort_keys=False)
    return path


def randomize_norm_statistics(model, seed=0):
    """Give every BN layer non-trivial running statistics (eval BN is not identity)."""
    rng = np.random.RandomState(seed)
    for layer in model.sublayers():
        if isinstance(layer, (paddle.nn.BatchNorm1D, paddle.nn.BatchNorm2D)):
            n = layer._mean.shape[0]
            layer._mean.set_value(rng.normal(0, 0.1, n).astype('float32'))
            layer._variance.set_value(rng.uniform(0.5, 1.5, n).astype('float32'))
            layer.weight.set_value(rng.uniform(0.5, 1.5, n).astype('float32'))
            layer.bias.set_value(rng.normal(0, 0.1, n).astype('float32'))


def scale_classifier(model, target=5.0, seed=0):
    """Scale the head's classifier so that logits peak near ``target``.

    Random ResNet-50 weights with random BN statistics give logits of 20-40
    (Fast-SCNN's, untrained, are ~1e-3),
    where float32 rounding alone differs by ~1e-4 between kernels; a trained
    model's logits are a few units, which is what the 1e-4 tolerance assumes.
    """
    head = model.classifier if isinstance(model, ExportableFastSCNN) else model.head
    classifiers = [l for l in head.sublayers()
                   if isinstance(l, paddle.nn.Conv2D) and l._out_channels == NUM_CLASSES]
    conv = classifiers[-1]
    probe = np.random.RandomState(seed).rand(1, 3, 64, 64).astype('float32')
    peak = float(np.abs(dygraph_logits(model, probe)).max())
    conv.weight.set_value(conv.weight.numpy() * (target / peak))
    conv.bias.set_value(conv.bias.numpy() * (target / peak))


def make_trained_like_model(work_dir, head, val_transforms=None):
    """Config + weights of one model in ``work_dir``.

    Returns:
        tuple: ``(config path, weights path, eval-mode dygraph model)``.
    """
    os.makedirs(work_dir, exist_ok=True)
    config = write_config(os.path.join(work_dir, head + '.yml'), head, val_transforms)
    paddle.seed(0)
    model = build_model(load_config(config))
    randomize_norm_statistics(model)
    model.eval()
    scale_classifier(model)
    weights = os.path.join(work_dir, head + '.pdparams')
    paddle.save(model.state_dict(), weights)
    return config, weights, model


def export_trained_like_model(work_dir, head, output_op):
    """``make_trained_like_model`` exported (with ONNX) to ``work_dir/export``, as export.py does.

    Returns:
        tuple: ``(config path, eval-mode dygraph model, export dir)``.
    """
    config, weights, model = make_trained_like_model(work_dir, head)
    save_dir = os.path.join(work_dir, 'export')
    export_model(config, weights, save_dir, output_op=output_op)
    export_onnx(save_dir)
    return config, model, save_dir


def dygraph_logits(model, batch):
    """Eval logits ``[N, C, H, W]`` of ``batch`` (numpy) as numpy."""
    with paddle.no_grad():
        return model(paddle.to_tensor(batch))[0].numpy()


def write_variant_yaml(save_dir, name, **changes):
    """A copy of ``save_dir``'s deploy.yaml next to the model files with ``Deploy`` keys
    ``changes`` applied (a None value removes the key); returns its path."""
    with open(os.path.join(save_dir, 'deploy.yaml'), encoding='utf-8') as f:
        dic = yaml.safe_load(f)
    dic['Deploy'].update(changes)
    for key in [k for k, v in changes.items() if v is None]:
        del dic['Deploy'][key]
    path = os.path.join(save_dir, name)
    with open(path, 'w', encoding='utf-8') as f:
        yaml.safe_dump(dic, f)
    return path


class TinySegmentor(paddle.nn.Layer):
    """The segmentor eval contract (``[logits [N, NUM_CLASSES, H, W]]``) in two small convs:
    an export of it takes seconds, for tests of the export's files rather than its numbers."""

    def __init__(self):
        super().__init__()
        self.conv = paddle.nn.Conv2D(3, 8, 3, padding=1)
        self.bn = paddle.nn.BatchNorm2D(8)
        self.classifier = paddle.nn.Conv2D(8, NUM_CLASSES, 1)

    def forward(self, x):
        return [self.classifier(paddle.nn.functional.relu(self.bn(self.conv(x))))]


def export_tiny_model(work_dir, input_shape=None, output_op='argmax'):
    """``TinySegmentor`` exported with ONNX to ``work_dir/export`` (transforms: Normalize).

    Returns:
        tuple: ``(config path, eval-mode dygraph model, export dir)``.
    """
    os.makedirs(work_dir, exist_ok=True)
    config = write_config(os.path.join(work_dir, 'tiny.yml'), FAST_SCNN)
    paddle.seed(0)
    model = TinySegmentor()
    randomize_norm_statistics(model)
    model.eval()
    save_dir = os.path.join(work_dir, 'export')
    export_model(config, None, save_dir, input_shape=input_shape, output_op=output_op, model=model)
    export_onnx(save_dir)
    return config, model, save_dir


#: How an export file gets damaged: cut in half, overwritten with random bytes, emptied.
CORRUPTIONS = {
    'truncated': lambda data: data[:len(data) // 2],
    'garbage': lambda data: np.random.RandomState(0).randint(0, 256, len(data)).astype('uint8').tobytes(),
    'zero-length': lambda data: b'',
}

# deploy/python/infer.py's cli on each damaged copy, in one child process: a segfault of a
# runtime fails the test instead of killing pytest. The baseline is the child's peak RSS
# once paddle and the deploy modules are imported.
_INFER_DRIVER = '''
import resource, sys
from paddleseg_fastfcn.deploy.infer import cli
print('baseline_mb=%.1f' % (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024), flush=True)
image, backend = sys.argv[1], sys.argv[2]
for config in sys.argv[3:]:
    print('@@ ' + config, file=sys.stderr, flush=True)
    status = cli(['--config', config, '--image_path', image, '--save_dir', config + '.masks',
                  '--backend', backend, '--cpu_threads', '1', '--print_detail', 'False'])
    print('@@ exit %d' % status, file=sys.stderr, flush=True)
'''


def infer_on_corrupted_copies(save_dir, work_dir, file_name, backend):
    """Run infer.py's cli on copies of ``save_dir`` whose ``file_name`` is damaged as ``CORRUPTIONS``.

    Returns:
        tuple: ``({corruption: (exit status, what the cli printed)}, returncode of the child,
        its peak RSS above its baseline in MB, wall seconds)``.
    """
    from tests.child_processes import run_child
    image = os.path.join(work_dir, 'image.png')
    cv2.imwrite(image, np.full((16, 16, 3), 128, np.uint8))
    with open(os.path.join(save_dir, file_name), 'rb') as f:
        data = f.read()
    configs = {}
    for name, damage in CORRUPTIONS.items():
        copy = os.path.join(work_dir, name)
        shutil.copytree(save_dir, copy)
        with open(os.path.join(copy, file_name), 'wb') as f:
            f.write(damage(data))
        configs[os.path.join(copy, 'deploy.yaml')] = name
    code, out, err, peak_mb, seconds = run_child(_INFER_DRIVER, image, backend, *configs)
    baseline = float(out.split('baseline_mb=')[1].split()[0]) if 'baseline_mb=' in out else 0.0
    results = {}
    for chunk in err.split('@@ ')[1:]:
        first, _, rest = chunk.partition('\n')
        if first in configs:
            results[configs[first]] = [None, rest]
            current = configs[first]
        elif first.startswith('exit '):
            results[current][0] = int(first.split()[1])
    return {k: tuple(v) for k, v in results.items()}, code, peak_mb - baseline, seconds
