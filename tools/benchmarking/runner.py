"""Run the selected cases, each in its own child process, and assemble the report.

The parent measures nothing: it starts the children with the thread settings in
their environment (so they are in force before Paddle or numpy load their math
libraries), collects their JSON, and writes the JSON document after every case
so a long run that is interrupted keeps what it measured.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from . import machine
from .cases import select_cases
from .report import render_markdown, write_json
from .comparisons import compare
from .threads import pin_threads

TOOLS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def child_env(threads, extra=None):
    """The parent's environment with every math library pinned to ``threads``,
    plus ``extra`` variables (``--env``)."""
    env = pin_threads(threads, dict(os.environ))
    env.update(extra or {})
    env.setdefault('GLOG_minloglevel', '2')
    return env


def run_child(spec, workdir, threads, timeout, extra_env=None, python=None):
    """Run one case in a child process (``python``, default this one); returns its result
    dict (status 'error' on failure)."""
    out_path = os.path.join(workdir, spec['case'] + '.json')
    log_path = os.path.join(workdir, spec['case'] + '.log')
    cmd = [python or sys.executable, '-m', 'benchmarking.worker', '--spec', json.dumps(spec), '--out', out_path]
    env = child_env(threads, extra_env)
    # `benchmarking` is not installed: the child finds it next to tools/benchmark.py.
    env['PYTHONPATH'] = os.pathsep.join(p for p in (TOOLS_DIR, env.get('PYTHONPATH')) if p)
    with open(log_path, 'w') as log:
        try:
            proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, timeout=timeout)
            returncode = proc.returncode
        except subprocess.TimeoutExpired:
            return {'status': 'error', 'error': 'timed out after {} s'.format(timeout)}
    if os.path.isfile(out_path):
        with open(out_path) as f:
            return json.load(f)
    with open(log_path) as f:
        tail = f.read()[-500:]
    return {'status': 'error', 'error': 'child exited with code {} without a result: {}'.format(returncode, tail)}


def _save(doc, workdir, json_path, markdown_path):
    doc['comparisons'] = compare(doc['cases'], workdir)
    doc['markdown'] = render_markdown(doc)
    if json_path:
        write_json(doc, json_path)
    if markdown_path:
        with open(markdown_path, 'w') as f:
            f.write(doc['markdown'])


def run(settings, case_names=None, json_path=None, workdir=None, timeout=None, log=None,
        markdown_path=None):
    """Run the benchmark.

    Args:
        settings (dict): size [H, W], batch_size, num_classes, warmup, repeats,
            threads, device, train_size [H, W], train_batch, gemm_size, config_dir,
            env (dict of extra environment variables for the children).
        case_names (list[str] | None): cases to run (all if None).
        json_path (str | None): the JSON document is (re)written here after every case.
        markdown_path (str | None): the markdown report, likewise.
        workdir (str | None): exports, logs and per-case results; a temporary
            directory (removed at the end) if None.
        timeout (float | None): seconds allowed per case.
        log (file | None): progress lines; None: the current ``sys.stderr`` (looked up per
            call, so a replaced stream, e.g. under a test's capture, is not kept).

    Returns:
        dict: the JSON document (settings, machine, case_list, cases, comparisons,
        markdown).
    """
    log = sys.stderr if log is None else log
    cases = select_cases(case_names)
    own_workdir = workdir is None
    workdir = workdir or tempfile.mkdtemp(prefix='paddleseg_fastfcn_benchmark_')
    os.makedirs(workdir, exist_ok=True)
    doc = {'settings': settings, 'machine': machine.describe(), 'load_start': machine.load_average(),
           'case_list': [{'name': c.name, 'kind': c.kind, 'label': c.label, 'params': c.params} for c in cases],
           'cases': {}, 'comparisons': []}
    try:
        for i, case in enumerate(cases, 1):
            spec = dict(settings, case=case.name, kind=case.kind, params=case.params, workdir=workdir)
            start = time.time()
            if case.kind == 'torch' and not settings.get('official_repo'):
                result = {'status': 'not measured', 'error': 'not measured: no --official_repo given'}
            else:
                python = settings.get('torch_python') if case.kind == 'torch' else None
                result = run_child(spec, workdir, settings['threads'], timeout, settings.get('env'), python)
            doc['cases'][case.name] = result
            summary = ('median {:.3f} s'.format(result['median_s']) if result.get('median_s') is not None
                       else result.get('error', result.get('status')))
            print('[{}/{}] {} ({:.0f} s): {}'.format(i, len(cases), case.name, time.time() - start, summary),
                  file=log, flush=True)
            doc['load_end'] = machine.load_average()
            _save(doc, workdir, json_path, markdown_path)
    finally:
        if own_workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    return doc
