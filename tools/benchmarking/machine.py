"""What the benchmark ran on: CPU, its instruction sets, cores, memory, load and library versions."""
import os
import platform

# The instruction sets that decide which kernels oneDNN, MKL and ONNX Runtime's MLAS
# pick (and so their speed, scratch sizes and NCHWc block size), as /proc/cpuinfo names them.
KERNEL_FLAGS = ('avx2', 'avx512f', 'avx512_vnni', 'avx512_bf16', 'amx_tile', 'amx_bf16', 'amx_int8')


def cpuinfo_field(name, cpuinfo='/proc/cpuinfo'):
    """The value of the first ``name`` line of ``cpuinfo`` (None if absent or unreadable)."""
    try:
        with open(cpuinfo) as f:
            for line in f:
                if line.split(':', 1)[0].strip() == name:
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return None


def cpu_model():
    return cpuinfo_field('model name') or platform.processor() or platform.machine()


def cpu_flags(cpuinfo='/proc/cpuinfo'):
    """The ``KERNEL_FLAGS`` this CPU has, in that order (None if ``cpuinfo`` lists no flags)."""
    flags = cpuinfo_field('flags', cpuinfo)
    if flags is None:
        return None
    present = set(flags.split())
    return [flag for flag in KERNEL_FLAGS if flag in present]


def flags_text(flags):
    """A ``cpu_flags`` list as text: which ``KERNEL_FLAGS`` the CPU has and which it lacks."""
    if flags is None:
        return 'instruction-set flags not recorded'
    missing = [flag for flag in KERNEL_FLAGS if flag not in flags]
    return 'flags: {}{}'.format(' '.join(flags) or 'none', '; lacks: ' + ' '.join(missing) if missing else '')


def cpu_line():
    """One line for a report's header: this CPU and its ``flags_text``."""
    return 'CPU: {}; {}'.format(cpu_model(), flags_text(cpu_flags()))


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
    return {'cpu': cpu_model(), 'cpu_flags': cpu_flags(), 'logical_cores': os.cpu_count(), 'memory_gib': memory_gib(),
            'python': platform.python_version(), 'platform': platform.platform(), 'versions': versions}
