#!/usr/bin/env bash
# Measures the AIS pipeline over NATS JetStream on the 10,000-ship
# simulated day (docs/scale.md, "Measured"): a NATS server (the
# nats-server module, built here), the day published, then 1 worker and 2
# worker processes (one partition each) ingesting it into PostgreSQL, each
# timed with /usr/bin/time; then the events compared with `tidewatch
# detect` of the same day, sorted, byte for byte.
#
# Usage: scripts/pipeline-day.sh [DAY.nmea]   (made with tidewatch simulate
#        --ships 10000 --interval 60s --hours 24 when missing)
# Env:   TW (tidewatch binary), NATS_PORT (default 18320), WORK (/tmp/nats-bench)
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-/tmp/nats-bench}
DAY=${1:-$WORK/day.nmea}
PORT=${NATS_PORT:-18320}
mkdir -p "$WORK"
TW=${TW:-$WORK/tidewatch}
go build -o "$TW" ./cmd/tidewatch
go build -o "$WORK/nats-server" github.com/nats-io/nats-server/v2
if [ ! -s "$DAY" ]; then
	"$TW" simulate --ships 10000 --interval 60s --hours 24 --out "$DAY" --truth "$WORK/truth.jsonl"
fi
source .ci/postgres.sh
start_test_postgres
BASE=$TIDEWATCH_TEST_POSTGRES
psql_() { psql "$BASE" -qAtX -c "$1"; }
T() { /usr/bin/time -f "%e s wall, %U s user, %S s sys, %M KB peak" "$@"; }

echo "== machine: $(nproc) vCPU, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"
echo "== detect (one process, 2 h reorder window and the embedded lists, as the workers)"
T "$TW" detect --lateness 2h --sanctions --embedded --out "$WORK/detect.jsonl" "$DAY" 2>"$WORK/detect.log" || true
tail -1 "$WORK/detect.log"

for N in 1 2; do
	rm -rf "$WORK/js$N"
	"$WORK/nats-server" -js -sd "$WORK/js$N" -a 127.0.0.1 -p "$PORT" >"$WORK/nats$N.log" 2>&1 &
	NATS=$!
	trap 'kill $NATS 2>/dev/null || true; stop_test_postgres' EXIT # replaces start_test_postgres's trap, so stop it here too
	sleep 1
	echo "== publish ($N worker run)"
	T "$TW" publish --nats "nats://127.0.0.1:$PORT" --flush "$DAY"
	SCHEMA=nats_bench_$N
	psql_ "DROP SCHEMA IF EXISTS $SCHEMA CASCADE; CREATE SCHEMA $SCHEMA"
	URL="$BASE&search_path=$SCHEMA,public"
	echo "== $N worker process(es), one partition each, run-bytes ${RUN_BYTES:-268435456}"
	START=$(date +%s.%N)
	PIDS=()
	for ((i = 0; i < N; i++)); do
		T "$TW" worker --nats "nats://127.0.0.1:$PORT" --store "$URL" --create --partitions "$N" --partition "$i" \
			--run-bytes "${RUN_BYTES:-268435456}" --until-flush >"$WORK/worker$N-$i.log" 2>&1 &
		PIDS+=($!)
	done
	for p in "${PIDS[@]}"; do wait "$p"; done
	END=$(date +%s.%N)
	for ((i = 0; i < N; i++)); do grep -E "flushed|wall" "$WORK/worker$N-$i.log" | tail -2; done
	echo "wall for all workers: $(echo "$END - $START" | bc) s"
	"$TW" events --store "$URL" --json --limit 10000 >"$WORK/events$N.jsonl"
	echo "events: $(wc -l <"$WORK/events$N.jsonl") stored, $(wc -l <"$WORK/detect.jsonl") from detect"
	if cmp -s <(sort "$WORK/events$N.jsonl") <(sort "$WORK/detect.jsonl"); then
		echo "SAME EVENTS as detect, byte for byte (sorted)"
	else
		echo "DIFFERENT events from detect"
	fi
	psql_ "SET search_path=$SCHEMA,public; SELECT 'chunks', count(*), sum(n) FROM chunks"
	kill "$NATS"
	wait "$NATS" 2>/dev/null || true
done
