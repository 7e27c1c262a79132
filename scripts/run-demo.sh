#!/bin/sh
# `make run`: loads the demo residents (fictional; dates relative to today)
# into a demo database, then serves the API on loopback without keys, for a
# local trial.
set -eu
bin=${1:?binary}
listen=${2:-127.0.0.1:8080}
db=${3:-build/demo.db}
top=$(cd "$(dirname "$0")/.." && pwd)
python3 "$top/scripts/demo_persons.py" |
	"$bin" import --db "$db" --format ndjson - >/dev/null
cat >&2 <<TXT
shikaku: serving http://$listen on the demo database $db
(loopback only, no API keys: a local trial).  Stop with Ctrl-C.

  The facility page (worklist, person, check, import, print):
    http://$listen/

  The morning worklist of the demo care home (who still has to act):
    curl -s -H 'Accept: text/plain' 'http://$listen/v1/persons?facility_id=demo-care-home&needs_action=true'
  One resident's answer, as a summary:
    curl -s 'http://$listen/v1/persons/demo-002/eligibility?format=text'
  Ask about anyone without storing them:
    curl -s --json '{"person": {"mynumber_card": "none"}}' http://$listen/v1/eligibility:evaluate

  To serve the LAN, make an API key and drop --no-auth:
    build/shikakud key create --db $db --role writer --name "care-home PC"
    build/shikakud serve --listen 0.0.0.0:8080 --db $db
TXT
exec "$bin" serve --listen "$listen" --db "$db" --no-auth
