"""CPU tuning: the AMD MKL code-path switch (AMD only, never over the user's value)
and glibc's reuse of freed memory."""
import os
import subprocess
import sys

import pytest

from paddleseg_fastfcn.utils.cpu_tuning import cpu_vendor, use_fast_mkl_path_on_amd


def write_cpuinfo(tmp_path, vendor):
    path = tmp_path / 'cpuinfo'
    path.write_text('processor\t: 0\nvendor_id\t: {}\ncpu family\t: 25\n'.format(vendor))
    return str(path)


def test_sets_the_variable_on_amd(tmp_path):
    env = {}
    assert use_fast_mkl_path_on_amd(env, write_cpuinfo(tmp_path, 'AuthenticAMD'))
    assert env == {'MKL_DEBUG_CPU_TYPE': '5'}


def test_leaves_intel_and_unknown_cpus_alone(tmp_path):
    env = {}
    assert not use_fast_mkl_path_on_amd(env, write_cpuinfo(tmp_path, 'GenuineIntel'))
    assert not use_fast_mkl_path_on_amd(env, str(tmp_path / 'missing'))
    assert env == {}
    assert cpu_vendor(str(tmp_path / 'missing')) is None


def test_never_overrides_the_users_value(tmp_path):
    env = {'MKL_DEBUG_CPU_TYPE': '2'}
    assert not use_fast_mkl_path_on_amd(env, write_cpuinfo(tmp_path, 'AuthenticAMD'))
    assert env == {'MKL_DEBUG_CPU_TYPE': '2'}



# A child process runs conv + BN five times and reports the fewest minor page faults
# of the last three runs (the heap settles during the first two): with freed memory reused there are (almost) none; with glibc's
# defaults the 38 MB im2col buffer and the outputs are mmap'ed afresh and fault in.
REALLOC_PROBE = r'''
import resource
import paddle
from paddleseg_fastfcn.utils.cpu_tuning import reuse_freed_memory
applied = reuse_freed_memory()
x = paddle.ones([1, 64, 128, 128])
conv = paddle.nn.Conv2D(64, 64, 3, padding=1)
bn = paddle.nn.BatchNorm2D(64)
bn.eval()
faults = []
for _ in range(5):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    with paddle.no_grad():
        float(bn(conv(x)).sum())
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(applied, min(faults[2:]))
'''
PAGES_38MB = 576 * 128 * 128 * 4 // 4096


def _probe(extra_env):
    env = dict(os.environ, **extra_env)
    out = subprocess.run([sys.executable, '-c', REALLOC_PROBE], env=env, check=True,
                         capture_output=True, text=True).stdout.split()
    return out[-2] == 'True', int(out[-1])


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='glibc mallopt')
def test_reuse_freed_memory_avoids_page_faults_on_the_next_forward():
    applied, faults = _probe({})
    assert applied
    assert faults < PAGES_38MB // 10, faults


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='glibc mallopt')
def test_system_setting_keeps_glibc_defaults():
    applied, faults = _probe({'PADDLESEG_FASTFCN_MALLOC': 'system'})
    assert not applied
    assert faults > PAGES_38MB // 2, faults  # the page faults the tuning exists to avoid
