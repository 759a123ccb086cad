"""Small replicas of raw dataset files for the preparation-tool tests, and a runner for the tools."""
import importlib.util
import os

import numpy as np
from PIL import Image

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def write_image(path, width, height, seed=0, fmt=None):
    """A random RGB image (JPEG or PNG by extension); returns the path as str."""
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(str(path), format=fmt)
    return str(path)


def write_mask(path, values, mode='L'):
    """A label PNG holding exactly ``values`` ([H, W] or [H, W, 3]); returns the path as str."""
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    Image.fromarray(np.asarray(values, dtype=np.uint8), mode=mode).save(str(path))
    return str(path)


def read_png(path):
    return np.array(Image.open(str(path)))


def load_tool(name):
    """Import ``tools/data/<name>.py`` as a module (its ``main(argv)`` returns the exit code)."""
    path = os.path.join(REPO, 'tools', 'data', name + '.py')
    spec = importlib.util.spec_from_file_location('tool_' + name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_tool(name, argv, capsys):
    """Run a tool's ``main(argv)``; returns (exit code, stdout, stderr)."""
    code = load_tool(name).main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err
