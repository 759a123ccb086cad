"""Scaling rows: the EncNet pair at growing input sizes, per backend, and their table.

A shape is ``(batch, height units, width units)``; a unit is ``scaling_unit`` pixels
(512 in a full run, 32 under ``--quick``), so the full run measures 1x512x512,
1x1024x1024, 1x1024x2048 and 4x512x512, and the quick run the same shapes at 1/16.
Each row's cost per megapixel (median / (batch x H x W / 1e6)) shows whether time
grows linearly with the image; the peak memory shows whether memory does.
"""
import collections

SCALING_MODELS = ('enc_jpu_r50', 'enc_os8_r50')
SCALING_SHAPES = ((1, 1, 1), (1, 2, 2), (1, 2, 4), (4, 1, 1))
SCALING_BACKENDS = collections.OrderedDict([
    ('dygraph', 'dygraph'),
    ('paddle_inference_onednn', 'Paddle Inference (oneDNN)'),
    ('onnxruntime', 'ONNX Runtime'),
])
FULL_UNIT = 512
QUICK_UNIT = 32


def shape_name(shape):
    """``(1, 2, 4)`` -> ``'b1_2x4'`` (units, so the name is the same in quick and full runs)."""
    return 'b{}_{}x{}'.format(*shape)


def case_name(backend, model, shape):
    return 'scale_{}_{}_{}'.format(backend, model, shape_name(shape))


def input_shape(params, unit):
    """``(batch, height, width)`` in pixels of a scaling case."""
    batch, hu, wu = params['shape']
    return batch, hu * unit, wu * unit


def megapixels(params, unit):
    batch, height, width = input_shape(params, unit)
    return batch * height * width / 1e6


def _fmt_ms_per_mp(result, params, unit):
    if not result or result.get('status') != 'ok':
        return 'error' if result else '-'
    return '{:.0f}'.format(1e3 * result['median_s'] / megapixels(params, unit))


def render_table(doc, label_of):
    """Markdown: one row per model and backend; per shape ms per megapixel and peak RSS.

    Args:
        doc (dict): the benchmark document (``case_list`` entries carry ``params``).
        label_of (callable): model key -> table label.

    Returns:
        list[str]: lines ('' list when no scaling case was selected).
    """
    unit = doc['settings'].get('scaling_unit', FULL_UNIT)
    rows = collections.OrderedDict()
    for case in doc['case_list']:
        params = case.get('params') or {}
        if 'shape' not in params or case['kind'] == 'export':
            continue
        key = (params['model'], params['scaling_backend'])
        rows.setdefault(key, {})[tuple(params['shape'])] = (doc['cases'].get(case['name'], {}), params)
    if not rows:
        return []
    shapes = [s for s in SCALING_SHAPES if any(s in r for r in rows.values())]
    heads = ['{}x{}x{}'.format(*input_shape({'shape': s}, unit)) for s in shapes]
    lines = ['', '**Scaling** (ms per megapixel / peak RSS MiB; median of the repeats; '
             'growth = ms per MP at the largest batch-1 size / at the smallest):', '',
             '| model | backend | ' + ' | '.join(heads) + ' | growth |',
             '|---|---|' + '---|' * (len(heads) + 1)]
    for (model, backend), by_shape in rows.items():
        cells, per_mp = [], {}
        for s in shapes:
            result, params = by_shape.get(s, ({}, {'shape': s}))
            text = _fmt_ms_per_mp(result, params, unit)
            if result.get('status') == 'ok':
                per_mp[s] = result['median_s'] / megapixels(params, unit)
                text += ' / {:.0f}'.format(result.get('peak_rss_mb') or 0)
            cells.append(text)
        batch1 = [s for s in shapes if s[0] == 1 and s in per_mp]
        growth = '{:.2f}x'.format(per_mp[batch1[-1]] / per_mp[batch1[0]]) if len(batch1) > 1 else '-'
        lines.append('| {} | {} | {} | {} |'.format(label_of(model), SCALING_BACKENDS[backend],
                                                     ' | '.join(cells), growth))
    return lines
