"""core never imports deploy: deploy builds on core and utils, not the other way round."""
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CHECK = '''
import importlib, pkgutil, sys
import paddleseg_fastfcn.core as core
names = [m.name for m in pkgutil.iter_modules(core.__path__)]
for name in names:
    importlib.import_module('paddleseg_fastfcn.core.' + name)
print('core_modules=%d' % len(names))
print('deploy_modules=' + ' '.join(sorted(m for m in sys.modules if m.startswith('paddleseg_fastfcn.deploy'))))
'''


def test_importing_every_core_module_imports_no_deploy_module():
    # A fresh interpreter: in the test process other tests have imported deploy already.
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''))
    proc = subprocess.run([sys.executable, '-c', CHECK], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, env=env, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = dict(line.split('=', 1) for line in proc.stdout.splitlines() if '=' in line)
    assert int(found['core_modules']) >= 10  # the modules were found and imported
    assert found['deploy_modules'] == ''
