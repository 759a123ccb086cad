"""The AMD MKL code-path switch: AMD only, never over the user's value."""
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
