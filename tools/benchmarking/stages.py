"""Per-stage dygraph time of a segmentor forward: where the cost per megapixel grows.

Forward pre/post hooks on the segmentor's sub-layers time each stage of one eval
forward (stem, backbone stages, neck, head convolution, Encoding module, rest of
the head); what the hooks do not cover inside the segmentor's forward is the
logits resize to the input size (``FastFCNSegmentor.forward``). Kernels run
synchronously on the CPU, so wall-clock time between hooks is the stage's time.
"""
import collections
import statistics
import time

import paddle

# (stage label, sub-layer path); the stem is what the backbone does before layer1.
STAGES = (('backbone: layer1', 'backbone.layer1'), ('backbone: layer2', 'backbone.layer2'),
          ('backbone: layer3', 'backbone.layer3'), ('backbone: layer4', 'backbone.layer4'),
          ('neck (JPU)', 'neck'), ('head: conv5', 'head.conv5'), ('head: Encoding module', 'head.encmodule'))
WHOLE = ('backbone', 'head')


def _sublayer(model, path):
    layer = model
    for name in path.split('.'):
        layer = getattr(layer, name, None)
        if layer is None:
            return None
    return layer


class StageTimer:
    """Hooks on the STAGES (and backbone, head) of ``model``; ``seconds[path]`` per forward."""

    def __init__(self, model):
        self.seconds = collections.defaultdict(float)
        self._handles = []
        for path in [p for _, p in STAGES] + list(WHOLE):
            layer = _sublayer(model, path)
            if layer is None:
                continue
            self._handles.append(layer.register_forward_pre_hook(self._start(path)))
            self._handles.append(layer.register_forward_post_hook(self._stop(path)))
        self._begin = {}

    def _start(self, path):
        def hook(layer, inputs):
            self._begin[path] = time.perf_counter()
        return hook

    def _stop(self, path):
        def hook(layer, inputs, outputs):
            self.seconds[path] += time.perf_counter() - self._begin.pop(path)
        return hook

    def remove(self):
        for handle in self._handles:
            handle.remove()


def profile_stages(model, x, repeats):
    """Median seconds per stage over ``repeats`` eval forwards of ``x`` (after one warm-up).

    Returns:
        OrderedDict: stage label -> seconds; ends with the logits resize (the forward's
        time outside backbone, neck and head) and the total.
    """
    timer = StageTimer(model)
    runs = []
    try:
        with paddle.no_grad():
            model(x)
            for _ in range(repeats):
                timer.seconds.clear()
                start = time.perf_counter()
                model(x)
                total = time.perf_counter() - start
                runs.append(dict(timer.seconds, total=total))
    finally:
        timer.remove()
    med = {key: statistics.median(r.get(key, 0.0) for r in runs) for key in runs[0]}
    table = collections.OrderedDict()
    table['backbone: stem'] = med.get('backbone', 0.0) - sum(
        med.get(p, 0.0) for _, p in STAGES if p.startswith('backbone.'))
    for label, path in STAGES:
        if path in med:
            table[label] = med[path]
    table['head: rest (classifier, SE)'] = med.get('head', 0.0) - med.get('head.conv5', 0.0) - med.get(
        'head.encmodule', 0.0)
    table['logits resize (+ segmentor glue)'] = med['total'] - med.get('backbone', 0.0) - med.get(
        'neck', 0.0) - med.get('head', 0.0)
    table['total'] = med['total']
    return table


def render(tables, sizes):
    """Markdown table: per stage, ms and ms per megapixel at each size, and the growth."""
    mps = [b * h * w / 1e6 for b, h, w in sizes]
    heads = ['{}x{}x{}'.format(*s) for s in sizes]
    lines = ['| stage | ' + ' | '.join('{} ms (ms/MP)'.format(h) for h in heads) + ' | growth per MP |',
             '|---|' + '---|' * (len(sizes) + 1)]
    for stage in tables[0]:
        cells = ['{:.0f} ({:.0f})'.format(1e3 * t[stage], 1e3 * t[stage] / mp) for t, mp in zip(tables, mps)]
        first, last = tables[0][stage] / mps[0], tables[-1][stage] / mps[-1]
        growth = '{:.2f}x'.format(last / first) if first > 1e-4 else '-'
        lines.append('| {} | {} | {} |'.format(stage, ' | '.join(cells), growth))
    return '\n'.join(lines)
