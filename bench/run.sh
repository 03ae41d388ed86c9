#!/bin/sh
# Benchmarks: each prints its figures. Figures are ratios or rates
# measured in one run on a shared machine; compare runs, not absolutes.
cd "$(dirname "$0")/.." || exit 2
for b in bench/b[0-9]*.sh; do
	echo "== $b"
	sh "$b" || echo "FAILED $b"
done
