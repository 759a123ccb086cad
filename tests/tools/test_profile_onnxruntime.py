"""tools/profile_onnxruntime.py: nodes grouped by kind, times from ORT's own profiler.

Which kernels and fusions ONNX Runtime picks depends on the CPU (NCHWc block size, fused
Add): the tests compare the table with the graph ORT runs on this machine, never with a
fixed list of kernels, and assert no timing beyond "non-negative, node sum <= total"."""
import os
import re
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, 'tools'))
from profile_onnxruntime import node_kinds  # noqa: E402


def write_model(path, height, width, channels=8):
    """x -> depthwise 3x3 conv (dilation 2) -> 1x1 conv -> + x; sizes None: dynamic."""
    rng = np.random.RandomState(0)
    weights = [numpy_helper.from_array(rng.randn(channels, 1, 3, 3).astype('float32'), 'dw'),
               numpy_helper.from_array(rng.randn(channels, channels, 1, 1).astype('float32'), 'pw')]
    nodes = [helper.make_node('Conv', ['x', 'dw'], ['a'], name='depthwise', group=channels,
                              dilations=[2, 2], pads=[2, 2, 2, 2], kernel_shape=[3, 3]),
             helper.make_node('Conv', ['a', 'pw'], ['b'], name='pointwise', kernel_shape=[1, 1]),
             helper.make_node('Add', ['b', 'x'], ['y'], name='residual')]
    shape = [1, channels, height or 'H', width or 'W']
    graph = helper.make_graph(nodes, 'g', [helper.make_tensor_value_info('x', TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info('y', TensorProto.FLOAT, shape)], weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 13)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


def kinds_ort_runs(model_path, tmp_path):
    """The node kinds of the graph ONNX Runtime runs on this CPU (its fusions and layout,
    e.g. NCHWc with this CPU's block size, change the nodes and their group counts)."""
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.optimized_model_filepath = str(tmp_path / 'optimized.onnx')
    ort.InferenceSession(model_path, options, providers=['CPUExecutionProvider'])
    return set(node_kinds(options.optimized_model_filepath).values())


def cell_ms(cell):
    """The ms of a table cell 'ms (ms/MP)'."""
    return float(re.match(r'\s*(-?[\d.]+) \((-?[\d.]+)\)\s*$', cell).group(1))


def test_table_has_each_kind_at_each_size(tmp_path):
    small = write_model(str(tmp_path / 'small.onnx'), 32, 32)
    large = write_model(str(tmp_path / 'large.onnx'), 64, 128)
    result = subprocess.run([sys.executable, os.path.join(REPO, 'tools', 'profile_onnxruntime.py'),
                             small, large, '--threads', '1', '--repeats', '3', '--nodes', '2'],
                            capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith('CPU: ') and ('flags: ' in result.stdout.splitlines()[0]
                                                  or 'flags not recorded' in result.stdout.splitlines()[0])
    table = result.stdout.split('Nodes whose time')[0]
    rows = {line.split('|')[1].strip(): line.split('|')[2:-1] for line in table.splitlines()
            if line.startswith('| ') and not line.startswith('| kind')}
    # A row per kind of node ONNX Runtime runs here; which kinds those are is its choice on
    # this CPU, but the model's dilated 3x3 and its 1x1 convolution stay recognisable.
    kinds = kinds_ort_runs(large, tmp_path)
    assert kinds | {'other kinds', 'sum of node times', 'whole run (session)'} == set(rows), (kinds, table)
    assert any(re.fullmatch(r'Conv 3x3 g\d+ dil 2', kind) for kind in kinds) and 'Conv 1x1' in kinds, kinds
    assert '1x8x32x32 ms (ms/MP)' in table and '1x8x64x128 ms (ms/MP)' in table
    for name, cells in rows.items():
        assert len(cells) == 3 and re.fullmatch(r'\s*([\d.]+|nan)x\s*', cells[2]), (name, cells)
        assert all(cell_ms(cell) >= 0 for cell in cells[:2]), (name, cells)
    # Node times are part of the run's time (each printed rounded to 1 ms).
    for size in range(2):
        assert cell_ms(rows['sum of node times'][size]) <= cell_ms(rows['whole run (session)'][size]) + 1, table
    # The node table: two nodes present at both sizes, named with their kind and output shape
    # (spatial size of the last input; the channel count is the layout's block size).
    node_rows = [line for line in result.stdout.split('Nodes whose time')[1].splitlines()
                 if line.startswith('| ') and 'node (kind' not in line]
    assert len(node_rows) == 2, result.stdout
    for row in node_rows:
        match = re.match(r'\| \S+ \((.+), 1x\d+x64x128\) \|', row)
        assert match and match.group(1) in kinds, (row, kinds)


def test_a_dynamic_shape_model_needs_input_shapes(tmp_path):
    path = write_model(str(tmp_path / 'dyn.onnx'), None, None)
    tool = [sys.executable, os.path.join(REPO, 'tools', 'profile_onnxruntime.py')]
    result = subprocess.run(tool + [path, '--threads', '1', '--repeats', '1'],
                            capture_output=True, text=True, cwd=REPO)
    assert result.returncode != 0
    assert 'is not fixed; export with --input_shape N 3 H W or give --input_shapes' in result.stderr
    result = subprocess.run(tool + [path, path, '--input_shapes', '1x8x16x16', '1x8x32x64', '--threads', '1',
                                    '--repeats', '1'], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr[-2000:]
    assert '1x8x16x16 ms (ms/MP)' in result.stdout and '1x8x32x64 ms (ms/MP)' in result.stdout
    result = subprocess.run(tool + [path, '--input_shapes', '1x8x16', '--threads', '1'],
                            capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 2 and 'four positive sizes NxCxHxW' in result.stderr
