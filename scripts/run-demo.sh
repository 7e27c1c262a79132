#!/bin/sh
# `make run`: serves the API on loopback without keys, for a local trial.
set -eu
bin=${1:?binary}
listen=${2:-127.0.0.1:8080}
db=${3:-build/demo.db}
cat >&2 <<TXT
shikaku: serving http://$listen (loopback only, no API keys: a local trial)

  Try:   curl -s --json '{"person": {"mynumber_card": "none"}}' \\
           http://$listen/v1/eligibility:evaluate
         curl -s -H 'Accept: text/plain' --json @tests/data/care-home.json \\
           http://$listen/v1/eligibility:evaluate
         curl -s http://$listen/v1/rules?lang=en

  Serving the LAN needs API keys (a later release); until then shikakud
  listens on loopback only.  Stop with Ctrl-C.
TXT
exec "$bin" serve --listen "$listen" --db "$db" --no-auth
