#!/usr/bin/env bash
# Build the sdist and the wheel from this checkout, then install the wheel into a fresh
# venv at TARGET with the runtime lock's pinned, hashed dependencies and nothing else.
# The installed-wheel test (tests/test_installed_wheel.py, run by CI) and the image's
# builder stage (deploy/Dockerfile) both install the bot this way.
#
# usage: deploy/install-wheel.sh TARGET
#   BUILD_PYTHON  a python with `build` and setuptools (requirements-dev.lock); default:
#                 the checkout's .venv, else python3
#   PYTHON        the python the new venv is made from (default: python3)
#   DIST_DIR      where the sdist and the wheel are written (default: a temporary folder)
set -euo pipefail

target=${1:?usage: deploy/install-wheel.sh TARGET}
root=$(cd "$(dirname "$0")/.." && pwd)
build_python=${BUILD_PYTHON:-$root/.venv/bin/python}
[ -x "$build_python" ] || build_python=python3
dist=${DIST_DIR:-$(mktemp -d)}
pip=(-m pip install -q --disable-pip-version-check)

if [ -e "$target" ]; then
  echo "install-wheel: $target exists; give a new path" >&2
  exit 2
fi
if ! "$build_python" -c 'import build, setuptools' 2>/dev/null; then
  echo "install-wheel: $build_python lacks build or setuptools (pip install --require-hashes" \
       "-r requirements.lock -r requirements-dev.lock)" >&2
  exit 2
fi

# No build isolation: the build uses the pinned setuptools instead of fetching the newest.
# The wheel is built from the sdist, so a file missing from the sdist is missing here too.
"$build_python" -m build --quiet --no-isolation --outdir "$dist" "$root"
wheel=$(ls "$dist"/watchkeeper-*.whl)

"${PYTHON:-python3}" -m venv "$target"
"$target/bin/python" "${pip[@]}" --require-hashes -r "$root/requirements.lock"
"$target/bin/python" "${pip[@]}" --no-deps "$wheel"
echo "install-wheel: $(basename "$wheel") in $target"
