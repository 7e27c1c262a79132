#!/bin/sh
# Installs the Debian packages the build and the tests need, when missing.
# Quiet and quick (one dpkg-query) when everything is already there.
set -eu
pkgs="gcc make pkg-config libc6-dev libmicrohttpd-dev libjansson-dev libsqlite3-dev
libcriterion-dev libunistring-dev python3 python3-pytest curl openssl clang-format valgrind libgnutls28-dev clang-14 libclang-rt-14-dev
chromium fonts-noto-cjk poppler-utils postgresql libpq-dev"
missing=
for p in $pkgs; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing" >&2
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
else
	SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >&2
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing >&2
