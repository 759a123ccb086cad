"""Write the small PyTorch files of tests/data/torch_fixtures/ with real torch.save (needs torch).

The project reads ``.pth`` files without torch (paddleseg_fastfcn/utils/torch_pickle.py);
these fixtures are what it is tested against. Run once, in an environment that has
torch (never the project's own, which must stay torch-free), and commit the output:

    python -m venv /tmp/venv-torch && /tmp/venv-torch/bin/pip install torch numpy==1.26.4
    /tmp/venv-torch/bin/python tools/make_torch_fixtures.py --out tests/data/torch_fixtures \
        --official_repo /tmp/FastFCN

With ``--official_repo`` (a checkout of github.com/wuhuikai/FastFCN, read, never copied)
it also writes two files in the official code's own layout, every key and shape that
``state_dict()`` of its classes gives: a training checkpoint of EncNet+JPU R50 for
Pascal Context (what ``experiments/segmentation/train.py`` saves) and the deep-stem
ImageNet ResNet-50 (``resnet50-ebb6acbb.pth``'s layout, fc included). Their tensors
are full-size views of small storages (see ``compact_like``), so files of 49.5 M and
25.6 M values take a few hundred KB and the torch-free converter can be run on them
in CI.

Besides the .pth files it writes expected.json: for every file its sha256 and, for
every tensor of its state dict, dtype, shape and the sha256 of its values (C order,
little endian, bfloat16 widened to float32), computed by torch itself.
"""
import argparse
import collections
import hashlib
import importlib
import json
import os
import pickle
import zipfile

import numpy as np

try:
    import torch
except ImportError:
    raise SystemExit('tools/make_torch_fixtures.py writes the fixtures WITH torch (pip install torch in a separate '
                     'environment); the project itself reads them without torch') from None


def views_state_dict():
    """A small module's state dict (``_metadata``, BN counter) plus every storage layout that matters."""
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Linear(4, 2))
    module[1].running_mean.uniform_(-1, 1)
    module[1].num_batches_tracked += 7
    state = module.state_dict()
    base = torch.arange(40, dtype=torch.float32).reshape(5, 8) / 8
    state['transposed'] = base.t()                      # non-contiguous, strides (1, 8)
    state['strided'] = base[:, ::3]                     # strides (8, 3)
    state['offset'] = base[2:4]                         # storage offset 16
    state['shared_row'] = base[4]                       # same storage as the three above
    state['expanded'] = torch.tensor([1.5, -2.0]).expand(3, 2)  # stride 0
    state['float16'] = torch.linspace(-3, 3, 7, dtype=torch.float16)
    state['bfloat16'] = torch.tensor([1.0, -2.5, 3.140625, 1e30, -1e-30], dtype=torch.bfloat16)
    state['float64'] = torch.tensor([[np.pi, -np.e]], dtype=torch.float64)
    state['int64'] = torch.tensor([-(2 ** 40), 3, 2 ** 62], dtype=torch.int64)
    state['int32'] = torch.tensor([-5, 2 ** 30], dtype=torch.int32)
    state['uint8'] = torch.tensor([0, 17, 255], dtype=torch.uint8)
    state['bool'] = torch.tensor([[True, False, True]])
    state['scalar'] = torch.tensor(2.25)
    state['empty'] = torch.zeros(0, 3)
    state['parameter'] = torch.nn.Parameter(torch.tensor([0.5, 0.25]))
    return state


def fixtures():
    """``{file name: (object to save, torch.save keyword arguments)}``."""
    views = views_state_dict()
    module = torch.nn.Linear(3, 2)
    optimizer = torch.optim.SGD(module.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    module(torch.ones(1, 3)).sum().backward()
    optimizer.step()
    official = {'epoch': 80, 'best_pred': 0.5105,
                'state_dict': collections.OrderedDict(('module.' + k, v) for k, v in module.state_dict().items()),
                'optimizer': optimizer.state_dict()}
    mmseg = {'meta': {'mmcv_version': '1.7.0', 'time': 'Tue Dec  1 08:00:00 2026', 'epoch': 3, 'iter': 160000,
                      'CLASSES': ('road', 'sidewalk'), 'PALETTE': [[128, 64, 128], [244, 35, 232]]},
             'state_dict': views}
    return {
        'zip_views.pth': (views, {}),
        'legacy_views.pth': (views, {'_use_new_zipfile_serialization': False}),
        'mmseg_meta.pth': (mmseg, {}),
        'official_training.pth.tar': (official, {}),
    }


def compact_like(tensor, max_base=512):
    """A tensor of ``tensor``'s shape and dtype that torch.save stores in at most ``max_base`` values.

    Random values over the trailing dimensions whose sizes multiply to at most
    ``max_base`` (a whole BN vector of <= 512 channels, a Linear weight's input
    row, a conv kernel's window), broadcast (stride 0) over the leading ones, plus
    a random offset of its own: a value landing on another parameter, a Linear
    weight left untransposed or a swapped BN statistic changes the values.
    Integer tensors (``num_batches_tracked``) are kept.
    """
    if not tensor.is_floating_point():
        return tensor.clone()
    shape = list(tensor.shape)
    split = len(shape)
    while split > 0 and int(np.prod(shape[split - 1:])) <= max_base:
        split -= 1
    base = torch.randn(shape[split:], dtype=tensor.dtype) + torch.randn((), dtype=tensor.dtype)
    return base.expand(shape)


def compact_state_dict(state):
    """``compact_like`` of every entry, keeping the OrderedDict's ``_metadata``."""
    out = collections.OrderedDict((k, compact_like(v)) for k, v in state.items())
    out._metadata = getattr(state, '_metadata', None)
    return out


def official_fixtures(repo):
    """The official EncNet+JPU R50 training checkpoint and the deep-stem ImageNet ResNet-50."""
    from official_fastfcn import import_official_models, official_encnet  # tools/, next to this script

    models = import_official_models(repo)
    torch.manual_seed(1)
    encnet = official_encnet(models, num_classes=59)  # Pascal Context, as encnet_jpu_res50_pcontext
    optimizer = torch.optim.SGD(encnet.parameters(), lr=0.001, momentum=0.9, weight_decay=1e-4)
    checkpoint = {'epoch': 80, 'state_dict': compact_state_dict(encnet.state_dict()),
                  'optimizer': optimizer.state_dict(), 'best_pred': 0.5371}
    resnet = importlib.import_module('encoding.dilated').resnet50()
    return {
        'official_encnet_jpu_r50_pcontext.pth.tar': (checkpoint, {}),
        'official_deep_stem_resnet50.pth': (compact_state_dict(resnet.state_dict()), {}),
    }


def to_big_endian(src, dst):
    """Rewrite a zip checkpoint as a big-endian machine's torch.save lays it out.

    torch has no option to write another byte order, so the storages are byteswapped
    and ``byteorder`` says ``big``; the pickle stays as it is (it holds no raw data).
    """
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, 'w', zipfile.ZIP_STORED) as zout:
        sizes = storage_element_sizes(zin)
        for info in zin.infolist():
            data = zin.read(info)
            rest = info.filename.partition('/')[2]
            if rest == 'byteorder':
                data = b'big'
            elif rest.startswith('data/') and sizes[rest[5:]] > 1:
                width = sizes[rest[5:]]
                data = np.frombuffer(data, '<u{}'.format(width)).astype('>u{}'.format(width)).tobytes()
            zout.writestr(info.filename, data)


def storage_element_sizes(archive):
    """``{storage key: element size}`` from the persistent ids of the archive's pickle."""
    sizes = {}
    top = [n for n in archive.namelist() if n.endswith('/data.pkl')][0]

    class Reader(pickle.Unpickler):
        def find_class(self, module, name):
            if module == 'torch._utils':  # tensors are not needed, only the storage ids
                return lambda *args: None
            return super().find_class(module, name)

        def persistent_load(self, pid):
            sizes[pid[2]] = pid[1](0).element_size()
            return None

    Reader(archive.open(top)).load()  # our own file, just written by torch.save
    return sizes


def value_digest(tensor):
    if tensor.dtype == torch.bfloat16:
        tensor = tensor.float()
    array = np.array(tensor.detach().numpy(), order="C")  # ascontiguousarray makes 0-d arrays 1-d
    little = array.astype(array.dtype.newbyteorder('<'))
    return {'dtype': str(array.dtype), 'shape': list(array.shape),
            'sha256': hashlib.sha256(little.tobytes()).hexdigest()}


def file_digest(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--out', default='tests/data/torch_fixtures')
    parser.add_argument('--official_repo', help='a FastFCN checkout: also write the official-layout files')
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    expected = {'_torch_version': torch.__version__}
    files = fixtures()
    if args.official_repo:
        files.update(official_fixtures(args.official_repo))
    for name, (obj, kwargs) in files.items():
        path = os.path.join(args.out, name)
        torch.save(obj, path, **kwargs)
        state = obj['state_dict'] if 'state_dict' in obj else obj
        entry = {'tensors': {k[len('module.'):] if k.startswith('module.') else k: value_digest(v)
                             for k, v in state.items()},
                 'metadata': {k: dict(v) for k, v in getattr(state, '_metadata', {}).items()}}
        expected[name] = dict(entry, sha256=file_digest(path))
        if name == 'zip_views.pth':
            big = os.path.join(args.out, 'big_endian_views.pth')
            to_big_endian(path, big)
            expected['big_endian_views.pth'] = dict(entry, sha256=file_digest(big))
    with open(os.path.join(args.out, 'expected.json'), 'w', encoding='utf-8') as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write('\n')


if __name__ == '__main__':
    main()
