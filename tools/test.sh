#!/usr/bin/env bash
# The test suite on a fresh clone or an existing environment (what CI runs):
#   bash tools/test.sh [pytest arguments, e.g. -m "not slow"]
# Creates / updates the virtualenv (tools/env.sh), runs pytest, then checks that nothing the tests ran
# changed the environment (paddle2onnx's default optimizer, for one, pip-installs numpy 2 at run time,
# which breaks cv2 / paddleseg).
set -euo pipefail
. "$(dirname "$0")/env.sh"
python -c "import cv2, paddle, paddleseg, paddleseg_fastfcn; print('paddle', paddle.__version__, 'paddleseg', paddleseg.__version__, 'cv2', cv2.__version__)"
python -m pytest -q tests "$@"
python -m pip check
