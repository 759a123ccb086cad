"""The official PyTorch FastFCN as a peer: eval latency and one training step.

Runs in a child process under the torch environment's python (``--torch_python``),
which has no Paddle: only numpy, torch and the official checkout (``--official_repo``,
imported by ``tools/official_fastfcn.py``). Same input, thread count, warm-up and
repeats as this project's rows; the training step mirrors ``train_case`` (momentum
SGD, CE + 0.2 aux CE + 0.2 SE, the official ``SegmentationLosses``).
"""
import os
import sys

from .inputs import image_batch, label_batch
from .memory import PeakRSS
from .timing import time_repeats

TOOLS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_torch(spec):
    """Time the official model ``spec['params']`` (``jpu``: bool, ``mode``: 'eval' | 'train')."""
    import torch

    sys.path.insert(0, TOOLS_DIR)
    from official_fastfcn import import_official_models, official_encnet

    torch.set_num_threads(int(spec['threads']))
    params = spec['params']
    models = import_official_models(spec['official_repo'])
    torch.manual_seed(0)
    model = official_encnet(models, spec['num_classes'], jpu=params['jpu'])
    if params['mode'] == 'eval':
        return _eval(torch, model, spec)
    return _train(torch, model, spec)


def _eval(torch, model, spec):
    model.eval()
    height, width = spec['size']
    x = torch.from_numpy(image_batch(spec['batch_size'], height, width))
    with torch.no_grad(), PeakRSS() as mem:
        timing = time_repeats(lambda: model(x)[0], spec['warmup'], spec['repeats'])
    return dict(timing, params=sum(p.numel() for p in model.parameters()), torch=torch.__version__,
                threads=torch.get_num_threads(), **mem.as_dict())


def _train(torch, model, spec):
    import importlib
    losses = importlib.import_module('encoding.nn').SegmentationLosses(
        se_loss=True, se_weight=0.2, aux=True, aux_weight=0.2, nclass=spec['num_classes'], ignore_index=255)
    model.train()
    height, width = spec['train_size']
    batch = spec['train_batch']
    x = torch.from_numpy(image_batch(batch, height, width))
    label = torch.from_numpy(label_batch(batch, height, width, spec['num_classes']))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    recorded = []

    def step():
        loss = losses(*model(x), label)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        recorded.append(float(loss))

    with PeakRSS() as mem:
        timing = time_repeats(step, spec['warmup'], spec['repeats'])
    return dict(timing, params=sum(p.numel() for p in model.parameters()), first_loss=recorded[0],
                batch_size=batch, size=[height, width], torch=torch.__version__, **mem.as_dict())
