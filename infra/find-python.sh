#!/usr/bin/env bash
# Prints a Python 3.12 interpreter: python3.12 on PATH if it runs, else one that pyenv installed.
set -u
for candidate in python3.12 "$(command -v pyenv >/dev/null && pyenv root)"/versions/3.12*/bin/python3.12 \
                 /usr/local/bin/python3.12 /usr/bin/python3.12; do
  if "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 12)' >/dev/null 2>&1; then
    command -v "$candidate" 2>/dev/null || echo "$candidate"
    exit 0
  fi
done
echo "Python 3.12 not found: install it (e.g. 'pyenv install 3.12') and try again" >&2
exit 1
