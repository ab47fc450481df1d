#!/bin/sh
# $BROWSER for the E2E: the app (and so this wrapper) is started once per WebDriver session, so
# the test switches the scripted browser's behaviour through a file instead of the environment.
# Each line of $LATCHKEY_E2E_BROWSER_ENV is NAME=VALUE (SCRIPTED_BROWSER_ACTION, _TAMPER, ...).
here=$(dirname "$(readlink -f "$0")")
if [ -n "$LATCHKEY_E2E_BROWSER_ENV" ] && [ -f "$LATCHKEY_E2E_BROWSER_ENV" ]; then
  set -a
  . "$LATCHKEY_E2E_BROWSER_ENV"
  set +a
fi
exec "$here/../authserver/browser" "$@"
