"""CPU tuning: the AMD MKL code-path switch (AMD only, never over the user's value)
and glibc's reuse of freed memory, checked by what the allocator does with a block
(where it comes from, whether it is kept and reused), never by page-fault counts,
which depend on the heap's layout and the machine."""
import json
import os
import subprocess
import sys

import pytest

from paddleseg_fastfcn.utils.cpu_tuning import (cpu_vendor, heap_info, keeps_system_malloc,
                                                use_fast_mkl_path_on_amd)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


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


# A child process applies the setting (or not) and reports what glibc's allocator then does
# with a 64 MiB block: glibc's defaults serve it with its own mmap (above the 32 MiB ceiling
# of the adaptive mmap threshold) and unmap it on free; with freed memory reused it comes
# from the heap, stays there after free, and the next block of that size reuses it.
ALLOCATOR_PROBE = r'''
import ctypes, json
from paddleseg_fastfcn.utils.cpu_tuning import heap_info, malloc_setting, reuse_freed_memory
applied = reuse_freed_memory()
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
size = 64 << 20
before = heap_info()
first = libc.malloc(size)
held = heap_info()
libc.free(first)
freed = heap_info()
second = libc.malloc(size)
libc.free(second)
print(json.dumps({'applied': applied, 'setting': malloc_setting(), 'reused': first == second,
                  'mmapped_while_held': held['mmapped_blocks'] - before['mmapped_blocks'],
                  'free_after_free': freed['free_bytes'], 'size': size}))
'''


def _probe(extra_env):
    # The caller's own allocator settings would decide the outcome instead of the code under test.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(('MALLOC_', 'GLIBC_TUNABLES', 'PADDLESEG_FASTFCN_MALLOC'))}
    out = subprocess.run([sys.executable, '-c', ALLOCATOR_PROBE], env=dict(env, **extra_env), check=True,
                         capture_output=True, text=True, cwd=REPO).stdout
    return json.loads(out.strip().splitlines()[-1])


needs_glibc = pytest.mark.skipif(heap_info() is None, reason='glibc mallinfo2 (Linux, glibc >= 2.33)')


@needs_glibc
def test_reuse_freed_memory_keeps_large_blocks_in_the_heap_for_reuse():
    result = _probe({})
    assert result['applied'] and result['setting'].startswith('glibc keeps freed memory for reuse'), result
    assert result['mmapped_while_held'] == 0, result
    assert result['free_after_free'] >= result['size'], result  # not trimmed: kept for the next block
    assert result['reused'], result


def test_the_variable_names_glibcs_defaults_in_any_spelling():
    for value in ('system', 'Default', ' off ', '0'):
        assert keeps_system_malloc({'PADDLESEG_FASTFCN_MALLOC': value}), value
    assert not keeps_system_malloc({}) and not keeps_system_malloc({'PADDLESEG_FASTFCN_MALLOC': 'reuse'})


@needs_glibc
def test_system_setting_keeps_glibc_defaults():
    result = _probe({'PADDLESEG_FASTFCN_MALLOC': 'system'})
    assert not result['applied'] and result['setting'] == 'system malloc defaults', result
    assert result['mmapped_while_held'] == 1, result  # its own mapping, returned to the system on free
