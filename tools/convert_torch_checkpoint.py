"""Convert an official FastFCN PyTorch checkpoint into a Paddle .pdparams file.

    python tools/convert_torch_checkpoint.py --src encnet_jpu_res50_pcontext.pth.tar \
        --config configs/official/encnet_jpu_resnet50_pascal_context.yml \
        --out output/encnet_jpu_resnet50_pascal_context.pdparams

    python tools/convert_torch_checkpoint.py --src resnet50-ebb6acbb.pth --backbone_only \
        --config configs/official/encnet_jpu_resnet50_pascal_context.yml \
        --out pretrained/deep_stem_resnet50.pdparams

    python tools/convert_torch_checkpoint.py --src resnet50_v1c-2cccc1ad.pth --backbone_only \
        --config configs/encnet/encnet_jpu_r50v1c_ade20k_480x480_120e.yml \
        --out pretrained/resnet50_v1c.pdparams

The key mapping is paddleseg_fastfcn.utils.torch_checkpoint; the model built from
--config gives the target names and shapes. Nothing is written unless every key
matches.
"""
import argparse
import os
import pickle
import sys
import tempfile

from paddleseg_fastfcn.core.builder import ConfigError, build_model, load_config
from paddleseg_fastfcn.utils.cli import existing_file
from paddleseg_fastfcn.utils.torch_checkpoint import (
    CheckpointMismatch, convert_for_layer, read_torch_checkpoint)

DESCRIPTION = """\
Convert an official FastFCN (wuhuikai/FastFCN) PyTorch checkpoint - a whole
EncNet/PSP/DeepLabV3+JPU model (raw state dict or a training checkpoint with
`state_dict`, `module.` prefixes allowed) or, with --backbone_only, an ImageNet
ResNet - official deep stem (resnet50-ebb6acbb.pth, resnet101-2a57e44d.pth) for
DeepStemResNet50/101, mmseg ResNetV1c (resnet50_v1c-2cccc1ad.pth,
resnet101_v1c-e67eebb6.pth) for ResNet50V1c/101V1c, torchvision v1.5
(resnet50-0676ba61.pth, resnet101-63fe2227.pth) for TorchvisionResNet50/101 -
into a Paddle state dict for the model built from --config.

SAFETY: checkpoints downloaded from the internet are untrusted. They are read
without torch by paddleseg_fastfcn.utils.torch_pickle: the zip format of
torch >= 1.6 and the legacy format, through an unpickler that rebuilds tensors and
plain containers only; a file whose pickle names any other global (code) is
refused, naming the file and the global, before anything runs.

torch is not needed (neither for this tool nor for the project).
Nothing is written if any checkpoint key has no counterpart, any model key is
missing or any shape differs; all of them are listed. The output is written
atomically (a temporary file renamed into place).
"""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--src', required=True, type=existing_file, help='official checkpoint (.pth or .pth.tar)')
    parser.add_argument('--config', required=True, type=existing_file,
                        help='YAML config whose model receives the weights (e.g. configs/official/*.yml); '
                             'its `pretrained` entries are ignored (the model only gives names and shapes)')
    parser.add_argument('--out', required=True, help='output .pdparams file')
    parser.add_argument('--backbone_only', action='store_true',
                        help='the source is an ImageNet backbone; write a file for the backbone\'s '
                             '`pretrained` argument (keys without `backbone.`)')
    return parser.parse_args(argv)


def save_atomically(state, out_path):
    """paddle.save ``state`` to a temporary file next to ``out_path``, then rename it."""
    import paddle

    out_dir = os.path.dirname(os.path.abspath(out_path))
    os.makedirs(out_dir, exist_ok=True)
    fd, tmp_path = tempfile.mkstemp(prefix='.convert-', suffix='.pdparams', dir=out_dir)
    os.close(fd)
    try:
        paddle.save({k: paddle.to_tensor(v) for k, v in state.items()}, tmp_path)
        os.replace(tmp_path, out_path)
    finally:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)


def convert(src, config, out, backbone_only=False, log=print):
    """Convert ``src`` for the model of ``config`` and write ``out``; returns the Conversion."""
    source = read_torch_checkpoint(src)  # first: an unreadable file fails before the model is built
    model = build_model(load_config(config), load_pretrained=False)
    target = model.backbone if backbone_only else model
    result = convert_for_layer(source, target, backbone_only=backbone_only)
    # Load into the model as a last check that the names are the model's own.
    missing, unexpected = target.set_state_dict(result.state)
    if missing or unexpected:
        raise CheckpointMismatch(unexpected, missing)
    save_atomically(result.state, out)
    log('converted {} tensors from {} into {}'.format(len(result.state), src, out))
    log('transposed {} Linear weight(s): {}'.format(len(result.transposed), ', '.join(result.transposed) or '-'))
    reasons = {}
    for key, reason in result.dropped:
        reasons.setdefault(reason, []).append(key)
    for reason, keys in reasons.items():
        shown = keys if len(keys) <= 4 else keys[:2] + ['... ({} in all)'.format(len(keys))]
        log('dropped on purpose, {}: {}'.format(reason, ', '.join(shown)))
    return result


def main(argv=None):
    args = parse_args(argv)
    if not os.path.isfile(args.src):
        sys.exit('error: --src not found: {}'.format(args.src))
    try:
        convert(args.src, args.config, args.out, args.backbone_only)
    except (ConfigError, CheckpointMismatch, ValueError, pickle.UnpicklingError) as e:
        sys.exit('error: {}\nnothing was written to {}'.format(e, args.out))


if __name__ == '__main__':
    main()
