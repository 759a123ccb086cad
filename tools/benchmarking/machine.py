"""What the benchmark ran on: CPU, cores, memory, load and library versions."""
import os
import platform


def cpu_model():
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_gib():
    try:
        with open('/proc/meminfo') as f:
            for line in f:
                if line.startswith('MemTotal:'):
                    return round(int(line.split()[1]) / 2.0 ** 20, 1)
    except OSError:
        pass
    return None


def load_average():
    """The 1/5/15-minute load averages (other processes competing for the cores)."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def describe():
    from importlib import metadata
    versions = {}
    for package in ('paddlepaddle', 'paddleseg', 'numpy', 'onnxruntime', 'paddle2onnx'):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {'cpu': cpu_model(), 'logical_cores': os.cpu_count(), 'memory_gib': memory_gib(),
            'python': platform.python_version(), 'platform': platform.platform(), 'versions': versions}
