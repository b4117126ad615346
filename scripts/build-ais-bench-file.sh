#!/usr/bin/env bash
# Builds a 1,000,000-sentence NMEA file from the real logs in ais/testdata, for
# the whole-program comparison with gpsdecode (docs/benchmarks.md). Sentences
# are bare (!xxVDM...*hh, no tag blocks or epoch fields, which gpsdecode does
# not read) and only from IEC 61162-1 talkers on channels A/B/1/2, so both
# programs are given the same, fully readable input. The real logs hold about
# 85,000 such sentences; they are repeated in order to reach one million.
set -euo pipefail
out=${1:-/tmp/ais-1m.nmea}
cd "$(dirname "$0")/../ais/testdata"
once=$(mktemp)
for f in *.nmea.gz *.aivdm.gz; do
	zcat "$f" | grep -v '^#' | grep -oE '!(AB|AD|AI|AN|AR|AS|AT|AX|BS|SA)VD[MO],[0-9],[0-9],[0-9]*,[AB12],[^*]*\*[0-9A-Fa-f]{2}' || true
done > "$once"
n=$(wc -l < "$once")
: > "$out"
while [ "$(wc -l < "$out")" -lt 1000000 ]; do cat "$once" >> "$out"; done
head -n 1000000 "$out" > "$out.tmp" && mv "$out.tmp" "$out"
rm -f "$once"
echo "$out: $(wc -l < "$out") sentences ($n distinct lines repeated), $(du -h "$out" | cut -f1)"
