"""Where ONNX Runtime spends its time, per operator kind, in exported models at two or more input sizes.

    python tools/benchmark.py --cases scale_export_enc_jpu_r50_b1_1x1 scale_export_enc_jpu_r50_b1_2x4 \
        --workdir /tmp/bench          # writes the exports
    python tools/profile_onnxruntime.py /tmp/bench/scale_export_enc_jpu_r50_b1_1x1/model.onnx \
        /tmp/bench/scale_export_enc_jpu_r50_b1_2x4/model.onnx --threads 2 --repeats 3
    python tools/profile_onnxruntime.py output/export/model.onnx output/export/model.onnx \
        --input_shapes 1x3x512x512 1x3x1024x2048     # one dynamic-shape export at two sizes

Runs each model under ONNX Runtime's own profiler (``SessionOptions.enable_profiling``,
the CPU provider, ``--threads`` intra-op threads as deploy/ uses it), one untimed run,
then ``--repeats`` runs. Node times are summed per run and the median run is kept. Nodes
are grouped by kind: the operator type, and for Conv its kernel, dilation and whether it
is depthwise (read from the model's attributes), so a kernel whose cost per megapixel
grows with the image shows as one line. Prints ms and ms per megapixel of input at each
size and the growth of ms per megapixel from the first model to the last.
"""
import argparse
import collections
import json
import os
import shutil
import sys
import tempfile

from benchmarking.machine import cpu_line  # tools/, next to this script
from benchmarking.threads import pin_threads


OPTIMIZATION_LEVELS = {'basic': 'ORT_ENABLE_BASIC', 'extended': 'ORT_ENABLE_EXTENDED',
                       'all': 'ORT_ENABLE_ALL'}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('models', nargs='+', help='.onnx files, smallest input first (one file may be '
                   'given several times with --input_shapes)')
    p.add_argument('--input_shapes', nargs='+', default=None, metavar='NxCxHxW',
                   help='one per model: the input fed (needed where a model\'s input size is not fixed)')
    p.add_argument('--threads', type=int, default=os.cpu_count())
    p.add_argument('--repeats', type=int, default=3)
    p.add_argument('--top', type=int, default=12, help='kinds listed, by time at the last size')
    p.add_argument('--graph_optimization', choices=sorted(OPTIMIZATION_LEVELS), default='all',
                   help="ORT's graph optimisation level ('all', the default of deploy/, includes the "
                        "NCHWc layout; 'extended' stops before it)")
    p.add_argument('--nodes', type=int, default=0,
                   help='also list this many nodes whose time grew most beyond linear')
    args = p.parse_args(argv)
    if args.input_shapes is not None:
        if len(args.input_shapes) != len(args.models):
            p.error('--input_shapes: give one shape per model ({} models, {} shapes)'.format(
                len(args.models), len(args.input_shapes)))
        try:
            args.input_shapes = [[int(v) for v in text.lower().split('x')] for text in args.input_shapes]
        except ValueError:
            p.error('--input_shapes: give NxCxHxW, e.g. 1x3x512x512')
        if any(len(s) != 4 or min(s) < 1 for s in args.input_shapes):
            p.error('--input_shapes: give four positive sizes NxCxHxW, e.g. 1x3x512x512')
    return args


def node_kinds(model_path):
    """{node name: kind} of a model, e.g. 'Conv 3x3 g1536 dil 8', 'Conv 1x1', 'Resize'.

    ``model_path`` is the graph ONNX Runtime ran (its optimised form, whose node names the
    profiler reports; fused and NCHWc convolutions keep Conv's attributes).
    """
    import onnx
    graph = onnx.load(model_path, load_external_data=False).graph
    kinds = {}
    for node in graph.node:
        kind = node.op_type
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        if 'kernel_shape' in attrs and node.op_type in ('Conv', 'FusedConv'):
            kind = 'Conv {}'.format('x'.join(str(k) for k in attrs['kernel_shape']))
            if attrs.get('group', 1) > 1:
                kind += ' g{}'.format(attrs['group'])
            if max(attrs.get('dilations', [1])) > 1:
                kind += ' dil {}'.format(max(attrs['dilations']))
            if max(attrs.get('strides', [1])) > 1:
                kind += ' stride {}'.format(max(attrs['strides']))
        kinds[node.name] = kind
    return kinds


def profile_model(model_path, threads, repeats, shape=None, optimization='all'):
    """One model under ORT's profiler: the median timed run's node times.

    Args:
        model_path (str): the ``.onnx`` file.
        threads (int): intra-op threads.
        repeats (int): timed runs after one warm-up.
        shape (list[int] | None): the input fed ``[N, C, H, W]``; None takes the model's
            fixed input shape.
        optimization (str): a key of ``OPTIMIZATION_LEVELS``.

    Returns:
        dict: ``shape`` (the input fed), ``kinds`` ({kind: ms}), ``nodes`` ({name: (kind,
        ms, output shape)}), ``total`` (ms of the whole run).
    """
    import numpy as np
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    options.enable_profiling = True
    options.graph_optimization_level = getattr(ort.GraphOptimizationLevel,
                                               OPTIMIZATION_LEVELS[optimization])
    workdir = tempfile.mkdtemp(prefix='ort_profile_')
    options.profile_file_prefix = os.path.join(workdir, 'run')
    # The graph as optimised (fusions, NCHWc layout): the profiler names its nodes.
    options.optimized_model_filepath = os.path.join(workdir, 'optimized.onnx')
    session = ort.InferenceSession(model_path, options, providers=['CPUExecutionProvider'])
    spec = session.get_inputs()[0]
    if shape is None:
        if not all(isinstance(d, int) and d > 0 for d in spec.shape):
            raise SystemExit('{}: input shape {} is not fixed; export with --input_shape N 3 H W or '
                             'give --input_shapes'.format(model_path, spec.shape))
        shape = list(spec.shape)
    batch = np.random.RandomState(0).uniform(-1, 1, shape).astype('float32')
    for _ in range(1 + repeats):
        session.run(None, {spec.name: batch})
    trace_path = session.end_profiling()
    with open(trace_path) as f:
        events = json.load(f)
    kinds = node_kinds(options.optimized_model_filepath)
    shutil.rmtree(workdir)
    runs = [(e['ts'], e['ts'] + e['dur'], e['dur']) for e in events
            if e.get('cat') == 'Session' and e.get('name') == 'model_run']
    per_run = [collections.Counter() for _ in runs]
    outputs = {}
    for event in events:
        if event.get('cat') != 'Node' or not event.get('name', '').endswith('_kernel_time'):
            continue
        name = event['name'][:-len('_kernel_time')]
        args = event.get('args', {})
        kinds.setdefault(name, args.get('op_name', '?'))
        shapes = [list(item.values())[0] for item in args.get('output_type_shape', [])]
        outputs[name] = 'x'.join(str(d) for d in shapes[0]) if shapes else '?'
        for i, (begin, stop, _) in enumerate(runs):
            if begin <= event['ts'] <= stop:
                per_run[i][name] += event['dur']
                break
    timed = list(zip(per_run, runs))[1:]  # the first run is the warm-up
    timed.sort(key=lambda item: item[1][2])
    node_us, median_run = timed[len(timed) // 2]
    by_kind = collections.Counter()
    for name, us in node_us.items():
        by_kind[kinds[name]] += us / 1000.0
    nodes = {name: (kinds[name], us / 1000.0, outputs[name]) for name, us in node_us.items()}
    return {'shape': list(shape), 'kinds': dict(by_kind), 'nodes': nodes,
            'total': median_run[2] / 1000.0}


def megapixels(shape):
    return shape[0] * shape[2] * shape[3] / 1e6


def _row(name, values, results):
    cells = ['{:.0f} ({:.0f})'.format(v, v / megapixels(r['shape'])) for r, v in zip(results, values)]
    small = values[0] / megapixels(results[0]['shape'])
    growth = (values[-1] / megapixels(results[-1]['shape'])) / small if small > 0 else float('nan')
    return '| {} | {} | {:.2f}x |'.format(name, ' | '.join(cells), growth)


def _header(first, results):
    heads = ['{} ms (ms/MP)'.format('x'.join(str(s) for s in r['shape'])) for r in results]
    return ['| {} | {} | growth |'.format(first, ' | '.join(heads)), '|---|' + '---|' * (len(results) + 1)]


def render(results, top):
    """A markdown table: per kind, ms (ms/MP) at each size and the growth of ms/MP."""
    last = results[-1]['kinds']
    listed = sorted(last, key=lambda k: -last[k])[:top]
    lines = _header('kind', results)
    for kind in listed:
        lines.append(_row(kind, [r['kinds'].get(kind, 0.0) for r in results], results))
    rest = [sum(v for k, v in r['kinds'].items() if k not in listed) for r in results]
    lines.append(_row('other kinds', rest, results))
    lines.append(_row('sum of node times', [sum(r['kinds'].values()) for r in results], results))
    lines.append(_row('whole run (session)', [r['total'] for r in results], results))
    return '\n'.join(lines)


def render_nodes(results, count):
    """The ``count`` nodes (present at every size) whose time at the last size exceeds most
    what their ms per megapixel at the first size predicts."""
    first, last = results[0], results[-1]
    scale = megapixels(last['shape']) / megapixels(first['shape'])
    common = [n for n in last['nodes'] if all(n in r['nodes'] for r in results)]
    excess = sorted(common, key=lambda n: -(last['nodes'][n][1] - scale * first['nodes'][n][1]))
    lines = _header('node (kind, output at the last size)', results)
    for name in excess[:count]:
        kind, _, output = last['nodes'][name]
        lines.append(_row('{} ({}, {})'.format(name, kind, output),
                          [r['nodes'][name][1] for r in results], results))
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    pin_threads(args.threads)
    shapes = args.input_shapes or [None] * len(args.models)
    results = [profile_model(path, args.threads, args.repeats, shape, args.graph_optimization)
               for path, shape in zip(args.models, shapes)]
    print(cpu_line())
    print('ONNX Runtime CPU provider, {} intra-op thread(s), graph optimisation {}, median of {} run(s) '
          'after one warm-up\n'.format(args.threads, args.graph_optimization, args.repeats))
    print(render(results, args.top))
    if args.nodes > 0:
        print('\nNodes whose time at the last size most exceeds linear growth from the first:\n')
        print(render_nodes(results, args.nodes))
    return 0


if __name__ == '__main__':
    sys.exit(main())
