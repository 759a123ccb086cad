"""Check that converted weights reproduce the official PyTorch model's logits.

    pip install torch pillow tqdm requests     # torch + what the official package imports
    git clone https://github.com/wuhuikai/FastFCN /tmp/FastFCN
    python tools/check_torch_parity.py --official_repo /tmp/FastFCN \
        --config configs/official/encnet_jpu_resnet50_pascal_context.yml

The official model matching --config (EncHead -> EncNet, PSPHead -> PSP, ASPPHead ->
DeepLabV3; DeepStemResNet50/101 -> resnet50/101; JPU; aux FCN head) is built from the
official code with random weights (its ImageNet download bypassed), given random BN
affine parameters and BN statistics calibrated on random images, saved as a .pth and
read back with the converter's weights-only reader, converted, loaded into the Paddle
model, and both models' eval logits on the same 1x3xSxS input are compared:

* in float64, where rounding is negligible, so any mapping error shows: must be <= --tol;
* in float32: must be <= max(--tol, 2 x the official model's own float32 error, i.e.
  its float32 vs float64 logits), because a deep random network amplifies float32
  rounding beyond 1e-4 in either framework.

Exits 1 on failure. The official code is read from --official_repo, never copied here.
"""
import argparse
import copy
import importlib
import os
import sys
import tempfile

import numpy as np

from official_fastfcn import import_official_models  # tools/, next to this script
from paddleseg_fastfcn.core.builder import build_model, load_config
from paddleseg_fastfcn.utils.cli import existing_dir, existing_file, non_negative_int, positive_float, positive_int
from paddleseg_fastfcn.utils.torch_checkpoint import (
    convert_state_dict, read_torch_checkpoint, target_spec)

OFFICIAL_HEADS = {'EncHead': 'EncNet', 'PSPHead': 'PSP', 'ASPPHead': 'DeepLabV3'}
OFFICIAL_BACKBONES = {'DeepStemResNet50': 'resnet50', 'DeepStemResNet101': 'resnet101'}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--official_repo', required=True, type=existing_dir, help='a checkout of github.com/wuhuikai/FastFCN')
    parser.add_argument('--config', required=True, type=existing_file, help='a configs/official/*.yml file')
    parser.add_argument('--size', type=positive_int, default=128, help='input height and width')
    parser.add_argument('--seed', type=non_negative_int, default=0)
    parser.add_argument('--tol', type=positive_float, default=1e-4,
                        help='max abs logit difference allowed in float64 (and in float32 unless the '
                             'official model\'s own float32 rounding error is larger)')
    return parser.parse_args(argv)


def official_model_for(cfg, models, num_classes):
    # The official train/test scripts pass `encoding.nn.BatchNorm` (a _BatchNorm
    # without the input-rank check): it also normalises the B x K x D codeword
    # tensor, where nn.BatchNorm2d would refuse the 3-D input.
    norm_layer = importlib.import_module('encoding.nn').BatchNorm
    model_cfg = cfg.dic['model']
    head, backbone = model_cfg['head']['type'], model_cfg['backbone']['type']
    neck = (model_cfg.get('neck') or {}).get('type')
    if head not in OFFICIAL_HEADS or backbone not in OFFICIAL_BACKBONES or neck != 'JointPyramidUpsampling':
        sys.exit('error: no official counterpart for head {}, backbone {}, neck {}'.format(head, backbone, neck))
    arch = getattr(models, OFFICIAL_HEADS[head])
    return arch(num_classes, OFFICIAL_BACKBONES[backbone], aux=True, se_loss=head == 'EncHead',
                jpu='JPU', lateral=False, norm_layer=norm_layer)


def randomise_batch_norm(model, size, generator):
    """Random BN affine parameters; running statistics from random images (train mode)."""
    import torch
    from torch.nn.modules.batchnorm import _BatchNorm

    for layer in model.modules():
        if isinstance(layer, _BatchNorm):
            with torch.no_grad():
                layer.weight.uniform_(0.5, 1.5, generator=generator)
                layer.bias.normal_(0.0, 0.1, generator=generator)
            layer.momentum = None  # cumulative average over the calibration batches
    model.train()
    with torch.no_grad():
        for _ in range(2):
            model(torch.randn(2, 3, size, size, generator=generator))
    model.eval()


def paddle_logits(config, source, image, dtype):
    """Build the Paddle model of ``config`` in ``dtype``, load ``source`` converted, run eval."""
    import paddle

    paddle.set_default_dtype(dtype)
    model = build_model(load_config(config), load_pretrained=False)
    shapes, dtypes, linear = target_spec(model)
    conversion = convert_state_dict(source, shapes, linear, dtypes)
    missing, unexpected = model.set_state_dict(conversion.state)
    if missing or unexpected:
        sys.exit('error: the converted state dict does not fit: missing {}, unexpected {}'.format(
            missing, unexpected))
    model.eval()
    with paddle.no_grad():
        logits = model(paddle.to_tensor(image.astype(dtype)))[0].numpy()
    paddle.set_default_dtype('float32')
    return logits


def main(argv=None):
    args = parse_args(argv)
    try:
        import torch
    except ImportError:
        sys.exit('error: this check needs torch: pip install torch')

    cfg = load_config(args.config)
    num_classes = cfg.dic['model']['num_classes']
    models = import_official_models(args.official_repo)
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    torch_model = official_model_for(cfg, models, num_classes)
    randomise_batch_norm(torch_model, args.size, generator)
    image = torch.randn(1, 3, args.size, args.size, generator=generator)
    with torch.no_grad():
        official32 = torch_model(image)[0].numpy()
        official64 = copy.deepcopy(torch_model).double()(image.double())[0].numpy()

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'official.pth')
        torch.save({'epoch': 0, 'state_dict': torch_model.state_dict()}, path)
        source = read_torch_checkpoint(path)  # the converter's torch-free reader
    image = image.numpy()
    ours64 = paddle_logits(args.config, source, image, 'float64')
    ours32 = paddle_logits(args.config, source, image, 'float32')

    diff64 = float(np.abs(ours64 - official64).max())
    diff32 = float(np.abs(ours32 - official32).max())
    # The official model's own float32 rounding error; two float32 implementations of
    # the same function may differ by up to twice that.
    noise32 = float(np.abs(official32 - official64).max())
    tol32 = max(args.tol, 2 * noise32)
    agree = float((ours32.argmax(1) == official32.argmax(1)).mean())
    print('{}: logits {}, max |official| {:.3f}'.format(
        os.path.basename(args.config), list(official32.shape), float(np.abs(official64).max())))
    print('  float64: max abs diff {:.3e} (tol {:.0e})'.format(diff64, args.tol))
    print('  float32: max abs diff {:.3e} (tol {:.1e} = max(tol, 2 x official float32 error {:.3e})), '
          'argmax agreement {:.4%}'.format(diff32, tol32, noise32, agree))
    ok = diff64 <= args.tol and diff32 <= tol32
    print('  PASS' if ok else '  FAIL')
    if not ok:
        sys.exit(1)


if __name__ == '__main__':
    main()
