"""tools/profile_onnxruntime.py: nodes grouped by kind, times from ORT's own profiler."""
import os
import re
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


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


def test_table_has_each_kind_at_each_size(tmp_path):
    small = write_model(str(tmp_path / 'small.onnx'), 32, 32)
    large = write_model(str(tmp_path / 'large.onnx'), 64, 128)
    result = subprocess.run([sys.executable, os.path.join(REPO, 'tools', 'profile_onnxruntime.py'),
                             small, large, '--threads', '1', '--repeats', '3', '--nodes', '2'],
                            capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = {line.split('|')[1].strip(): line for line in result.stdout.splitlines()
            if line.startswith('| ') and not line.startswith('| kind')}
    assert {'Conv 3x3 g8 dil 2', 'Conv 1x1', 'Add', 'sum of node times',
            'whole run (session)'} <= set(rows)
    assert '1x8x32x32 ms (ms/MP)' in result.stdout and '1x8x64x128 ms (ms/MP)' in result.stdout
    for name in ('Conv 3x3 g8 dil 2', 'Conv 1x1', 'whole run (session)'):
        cells = rows[name].split('|')[2:-1]
        values = [float(re.match(r'\s*([\d.]+) \(', cell).group(1)) for cell in cells[:2]]
        assert values[1] >= 0 and re.match(r'\s*[\d.]+x', cells[2]), rows[name]
    # The node table: two nodes present at both sizes, named with their kind and output shape.
    node_part = result.stdout.split('Nodes whose time')[1]
    node_rows = [line for line in node_part.splitlines() if line.startswith('| ') and 'node (kind' not in line]
    assert len(node_rows) == 2 and all(', 1x8x64x128)' in row for row in node_rows), node_part
    # Node times are part of the run's time.
    total = [float(re.match(r'\s*([\d.]+)', c).group(1)) for c in rows['whole run (session)'].split('|')[2:4]]
    nodes = [float(re.match(r'\s*([\d.]+)', c).group(1)) for c in rows['sum of node times'].split('|')[2:4]]
    assert all(n <= t + 1 for n, t in zip(nodes, total))


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
