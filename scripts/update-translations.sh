#!/bin/sh
# Re-extract the UI strings, rewrite the French catalogue and compile it (run from anywhere).
set -e
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
"$PY" -m babel.messages.frontend extract -F app/translations/babel.cfg -k _l -k lazy_gettext --no-location \
  --sort-output -o app/translations/messages.pot app
"$PY" scripts/translations_fr.py
"$PY" -m babel.messages.frontend compile -d app/translations
