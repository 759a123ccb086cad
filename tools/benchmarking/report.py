"""The benchmark's output: a markdown report and the JSON document."""
import json

from .cases import model_label
from .comparisons import achieved_gflops
from .machine import flags_text
from .scaling import render_table as scaling_table


def _fmt(value, spec='{:.2f}'):
    return '-' if value is None else spec.format(value)


def _time(result):
    if result.get('status') != 'ok' or result.get('median_s') is None:
        return '-'
    t = result['median_s']
    return '{:.3f} s'.format(t) if t >= 1.0 else '{:.1f} ms'.format(1e3 * t)


def _case_row(case, result, gemm_gflops):
    ok = result.get('status') == 'ok'
    gflops = achieved_gflops(result) if ok else None
    if case['kind'] == 'gemm' and ok:
        gflops = result['gflops']
    fraction = None if (gflops is None or not gemm_gflops) else 100.0 * gflops / gemm_gflops
    notes = []
    if not result:
        notes.append('not run (yet)')
    elif result.get('status') == 'not measured':
        notes.append(result.get('error', 'not measured'))
    elif not ok:
        error = ' '.join(result.get('error', 'no result').split())
        notes.append('ERROR ' + (error if len(error) <= 240 else error[:237] + '...'))
    if result.get('max_abs_diff') is not None:
        # Randomly initialised deep models reach large logits (R101 OS8: ~4e5), so the
        # difference is shown with the scale it is measured against.
        notes.append('max |diff| vs dygraph {:.2g} (of max |logit| {:.3g})'.format(
            result['max_abs_diff'], result.get('reference_max_abs', float('nan'))))
    if case['kind'] == 'train' and ok:
        notes.append('batch {} at {}x{}'.format(result['batch_size'], *result['size']))
    if case['kind'] == 'encoding' and ok:
        notes.append('input {}'.format('x'.join(str(s) for s in result['input_shape'])))
    if case['kind'] == 'gemm' and ok:
        notes.append('{0}x{0}x{0} fp32'.format(result['size']))
    if case['kind'] == 'eval_export' and ok:
        notes.append('{} images; images/s: '.format(result['num_images']) + ', '.join(
            '{} {:.2f}{}'.format(r['backend'], r['images_per_s'], '' if r['areas_equal'] else ' (AREAS DIFFER)')
            for r in result['rows']))
    params = result.get('params')
    macs = result.get('macs')
    peak = result.get('peak_rss_mb')
    delta = result.get('peak_rss_delta_mb')
    tensors = result.get('paddle_alloc_peak_above_start_mb')
    return '| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |'.format(
        case['label'], _time(result), _fmt(params / 1e6 if params else None, '{:.1f}'),
        _fmt(macs / 1e9 if macs else None, '{:.1f}'), _fmt(gflops, '{:.1f}'), _fmt(fraction, '{:.0f}%'),
        _fmt(peak, '{:.0f}'), _fmt(delta, '{:.0f}'), _fmt(tensors, '{:.0f}'), '; '.join(notes).replace('|', '/'))


MALLOC_NOTES = {
    'reuse': 'glibc keeps freed memory for reuse (utils/cpu_tuning.py; PADDLESEG_FASTFCN_MALLOC=system turns it off)',
    'system': 'system malloc defaults (PADDLESEG_FASTFCN_MALLOC=system)',
}


def render_markdown(doc):
    """The report as markdown: settings, one row per case, then the comparisons."""
    s = doc['settings']
    m = doc['machine']
    gemm = doc['cases'].get('gemm', {})
    gemm_gflops = gemm.get('gflops') if gemm.get('status') == 'ok' else None
    lines = [
        '**Settings**: device {}, {} thread(s) (OMP_NUM_THREADS={}, Paddle math threads, ORT intra-op), '
        'input {}x3x{}x{}, {} classes, warm-up {}, median of {} repeat(s); training step at {}x{} batch {}.'.format(
            s['device'], s['threads'], s['threads'], s['batch_size'], s['size'][0], s['size'][1],
            s['num_classes'], s['warmup'], s['repeats'], s['train_size'][0], s['train_size'][1],
            s['train_batch']) + (' Extra environment: {}.'.format(
                ', '.join('{}={}'.format(k, v) for k, v in sorted(s['env'].items()))) if s.get('env') else '')
        + ' MKL code path: MKL_DEBUG_CPU_TYPE={}.'.format(s.get('mkl_debug_cpu_type') or 'unset')
        + ' Allocator: {}.'.format(MALLOC_NOTES[s.get('malloc', 'system')]),
        '**Machine**: {} ({}; {} logical cores, {} GiB); paddlepaddle {}, paddleseg {}, onnxruntime {}; '
        'load average {} at start, {} after the last case.'.format(
            m['cpu'], flags_text(m.get('cpu_flags')), m['logical_cores'], m['memory_gib'],
            m['versions'].get('paddlepaddle'), m['versions'].get('paddleseg'), m['versions'].get('onnxruntime'),
            doc.get('load_start'), doc.get('load_end')),
        '' if not s.get('quick') else '**--quick: a smoke test on a tiny input, not a measurement.**',
        '',
        '| case | median | params (M) | GMACs | GFLOP/s | % of GEMM | peak RSS (MiB) | RSS above start (MiB) | Paddle tensors peak (MiB) | notes |',
        '|---|---|---|---|---|---|---|---|---|---|',
    ]
    for case in doc['case_list']:
        lines.append(_case_row(case, doc['cases'].get(case['name'], {}), gemm_gflops))
    lines += scaling_table(doc, model_label)
    lines += ['', '| comparison (slow / fast) | ratio | detail |', '|---|---|---|']
    for row in doc['comparisons']:
        lines.append('| {} | {} | {} |'.format(
            row['comparison'], _fmt(row['ratio'], '{:.2f}x' if 'GEMM' not in row['comparison'] else '{:.1%}'),
            row['detail'].replace('|', '/')))
    lines += ['', 'GMACs: multiply-adds of convolutions and linear layers (forward). GFLOP/s = 2 x MACs / median '
              'time, the same convention as the GEMM rate (2 n^3 / time). Peak RSS is per case, each case in its '
              'own process; "above start" excludes imports and model building; "Paddle tensors peak" is Paddle\'s '
              'allocator peak of tensor memory above the start of the measured region (eval, train, Encoding rows). '
              'The targets of the comparisons, and the paper\'s ratios: docs/benchmark.md.']
    return '\n'.join(lines) + '\n'


def write_json(doc, path):
    with open(path, 'w') as f:
        json.dump(doc, f, indent=1, sort_keys=False)
