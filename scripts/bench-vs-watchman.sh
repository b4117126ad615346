#!/usr/bin/env bash
# Side-by-side screening-server benchmark (docs/benchmarks.md): starts Moov
# Watchman (../shared/peers/watchman) and Tidewatch on the same list files,
# times each one's start until it answers, and loads both with twload in
# the same run, interleaved: single-name vessel screening at concurrency C.
# Usage: scripts/bench-vs-watchman.sh [SECONDS] [CONCURRENCY] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10} conc=${2:-32} rounds=${3:-3}
lists=../shared/data/lists
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
go build -o "$work/tidewatch" ./cmd/tidewatch
go build -o "$work/twload" ./cmd/twload
gzip -dc ../shared/peers/watchman/watchman-server.gz > "$work/watchman-server"; chmod +x "$work/watchman-server"

wait_for() { # URL: seconds until it answers 200
	local t0=$(date +%s.%N)
	until curl -sf -o /dev/null "$1"; do sleep 0.02; done
	echo "$(date +%s.%N) - $t0" | bc
}

# A Tidewatch store holding the same list files, imported once.
"$work/tidewatch" lists import --store "$work/tw.db" --create "$lists" >/dev/null
key=$("$work/tidewatch" keys create --store "$work/tw.db" --name bench --role viewer 2>/dev/null)

for r in $(seq "$rounds"); do
	WATCHMAN_BIN="$work/watchman-server" bash ../shared/peers/watchman/run.sh "$lists" 18090 >/dev/null 2>&1 &
	wpid=$!
	wstart=$(wait_for "http://127.0.0.1:18090/ping")
	"$work/tidewatch" serve --store "$work/tw.db" --addr 127.0.0.1:18091 --rate -1 --update-lists 0 >/dev/null 2>"$work/tw.log" &
	tpid=$!
	tstart=$(wait_for "http://127.0.0.1:18091/readyz")
	echo "round $r: ready in watchman ${wstart}s, tidewatch ${tstart}s"
	"$work/twload" -target watchman -url http://127.0.0.1:18090 -c "$conc" -duration "${secs}s"
	"$work/twload" -target tidewatch -url http://127.0.0.1:18091 -key "$key" -c "$conc" -duration "${secs}s"
	kill $wpid $tpid; wait $wpid $tpid 2>/dev/null || true
done
