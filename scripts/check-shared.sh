#!/bin/sh
# Warns when the project's copies of the shared cases and data differ from
# ../shared (when that folder exists).  The project never reads ../shared
# at build or run time; this only tells you a copy is out of date.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
shared="$top/../shared"
[ -d "$shared" ] || exit 0
status=0
for pair in "cases/eligibility.jsonl:tests/cases/eligibility.jsonl" \
	    "cases/next-change.jsonl:tests/cases/next-change.jsonl" \
	    "cases/README.md:tests/cases/README.md" \
	    "data/prefectures.csv:data/prefectures.csv" \
	    "data/insurers-kyokai.csv:data/insurers-kyokai.csv"; do
	src="$shared/${pair%%:*}"
	dst="$top/${pair#*:}"
	[ -f "$src" ] || continue
	if ! cmp -s "$src" "$dst"; then
		echo "WARNING: ${pair#*:} differs from ../shared/${pair%%:*}; copy it over if the shared one is newer" >&2
		status=1
	fi
done
[ $status -eq 0 ] || echo "WARNING: tests ran on the project's own copies" >&2
exit 0
