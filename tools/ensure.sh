#!/bin/sh
# Makes the pinned Node tools of tools/package-lock.json ready:
# installs Node.js and npm from Debian (apt-get) when npm is missing, then
# `npm ci --prefix tools` when tools/node_modules is absent or older than the
# lock file.  Used by `make lint`, `make test-contract` and `make test-browser`
# (PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1: the browser tests use Debian's chromium).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v npm >/dev/null 2>&1; then
	echo "tools: installing nodejs npm" >&2
	if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -q >&2
	$SUDO apt-get install -y -q --no-install-recommends nodejs npm >&2
fi
stamp="$here/node_modules/.ci-stamp"
if [ ! -f "$stamp" ] || [ "$here/package-lock.json" -nt "$stamp" ] ||
	[ ! -x "$here/node_modules/.bin/redocly" ] || [ ! -x "$here/node_modules/.bin/prism" ] ||
	[ ! -x "$here/node_modules/.bin/playwright" ]; then
	echo "tools: npm ci --prefix tools" >&2
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix "$here" --no-audit --no-fund --loglevel=error >&2
	touch "$stamp"
fi
