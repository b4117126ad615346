#!/usr/bin/env bash
# Measures the split over NATS JetStream (docs/scale.md, "Splitting the
# work"): a NATS server (the nats-server module, built here), a simulated
# set published once, then into PostgreSQL (a schema per run):
#   whole:  1 whole-engine worker (partition 0 of 1), the existing pipeline;
#   split1: the sequencer and 1 vessel worker;
#   split2: the sequencer and 2 vessel workers;
#   stagesN: the sequencer of the area split and N workers of each stage
#            (vessels, area, pairs, imo, reception), each a process;
# each process timed with /usr/bin/time (all of a run's processes run at
# once), each run's events compared with `tidewatch detect` of the set,
# sorted, byte for byte, and its stored points counted.
#
# Usage: scripts/split-measure.sh [SET.nmea]   (made with tidewatch simulate
#        --ships ${SHIPS:-2000} --interval 60s --hours ${HOURS:-12} when missing)
# Env:   NATS_PORT (default 18321), WORK (default /tmp/split-measure),
#        RUN_BYTES (default 67108864), RUNS (default "whole split1 split2
#        stages1 stages2")
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-/tmp/split-measure}
SET=${1:-$WORK/set.nmea}
PORT=${NATS_PORT:-18321}
RUN_BYTES=${RUN_BYTES:-67108864}
mkdir -p "$WORK"
TW=$WORK/tidewatch
go build -o "$TW" ./cmd/tidewatch
go build -o "$WORK/nats-server" github.com/nats-io/nats-server/v2
if [ ! -s "$SET" ]; then
	"$TW" simulate --ships "${SHIPS:-2000}" --interval 60s --hours "${HOURS:-12}" --out "$SET" --truth "$WORK/truth.jsonl"
fi
source .ci/postgres.sh
start_test_postgres
BASE=$TIDEWATCH_TEST_POSTGRES
psql_() { psql "$BASE" -qAtX -c "$1"; }
T() { /usr/bin/time -f "%e s wall, %U s user, %S s sys, %M KB peak" "$@"; }

echo "== machine: $(nproc) vCPU, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"
echo "== set: $(wc -c <"$SET") bytes, $(wc -l <"$SET") lines"
echo "== detect (one process, 2 h reorder window and the embedded lists, as the workers)"
T "$TW" detect --lateness 2h --sanctions --embedded --out "$WORK/detect.jsonl" "$SET" 2>"$WORK/detect.log" || true
tail -1 "$WORK/detect.log"

rm -rf "$WORK/js"
"$WORK/nats-server" -js -sd "$WORK/js" -a 127.0.0.1 -p "$PORT" >"$WORK/nats.log" 2>&1 &
NATS=$!
# Stop NATS, then the throwaway PostgreSQL (start_test_postgres's own
# EXIT trap, which this one replaces).
trap 'kill $NATS 2>/dev/null || true; stop_test_postgres' EXIT
sleep 1
NATS_URL="nats://127.0.0.1:$PORT"
echo "== publish"
T "$TW" publish --nats "$NATS_URL" --flush "$SET"

for RUN in ${RUNS:-whole split1 split2 stages1 stages2}; do
	SCHEMA=split_measure_$RUN
	psql_ "DROP SCHEMA IF EXISTS $SCHEMA CASCADE; CREATE SCHEMA $SCHEMA"
	URL="$BASE&search_path=$SCHEMA,public"
	common=(--nats "$NATS_URL" --store "$URL" --create --run-bytes "$RUN_BYTES" --until-flush)
	echo "== $RUN, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%T)"
	PIDS=()
	case $RUN in
	whole)
		T "$TW" worker "${common[@]}" --partitions 1 >"$WORK/$RUN-worker.log" 2>&1 &
		PIDS+=($!)
		;;
	split*)
		N=${RUN#split}
		# One item stream: a sequencer for N partitions publishes on
		# subjects of N, its state and consumers are its own.
		T "$TW" worker "${common[@]}" --stage sequencer --partitions "$N" >"$WORK/$RUN-sequencer.log" 2>&1 &
		PIDS+=($!)
		for ((i = 0; i < N; i++)); do
			T "$TW" worker "${common[@]}" --stage vessels --partitions "$N" --partition "$i" \
				>"$WORK/$RUN-vessels$i.log" 2>&1 &
			PIDS+=($!)
		done
		;;
	stages*)
		N=${RUN#stages}
		# Every stage of the area split, N partitions each.
		split=(--partitions "$N" --area-partitions "$N" --pair-partitions "$N" --imo-partitions "$N" --reception-partitions "$N")
		T "$TW" worker "${common[@]}" --stage sequencer "${split[@]}" >"$WORK/$RUN-sequencer.log" 2>&1 &
		PIDS+=($!)
		for stage in vessels area pairs imo reception; do
			for ((i = 0; i < N; i++)); do
				T "$TW" worker "${common[@]}" --stage "$stage" "${split[@]}" --partition "$i" \
					>"$WORK/$RUN-$stage$i.log" 2>&1 &
				PIDS+=($!)
			done
		done
		;;
	esac
	# The NATS server's CPU during the run (user+sys, clock ticks).
	nats_cpu() { awk '{print $14 + $15}' "/proc/$NATS/stat"; }
	NATS0=$(nats_cpu)
	START=$(date +%s.%N)
	for p in "${PIDS[@]}"; do wait "$p"; done
	END=$(date +%s.%N)
	echo "nats-server: $(echo "scale=2; ($(nats_cpu) - $NATS0) / $(getconf CLK_TCK)" | bc) s user+sys during the run"
	for f in "$WORK/$RUN"-*.log; do echo "$(basename "$f" .log): $(grep -E 'wall' "$f" | tail -1)"; done
	echo "wall for all: $(echo "$END - $START" | bc) s"
	"$TW" events --store "$URL" --json --limit 10000 >"$WORK/events-$RUN.jsonl"
	echo "events: $(wc -l <"$WORK/events-$RUN.jsonl") stored, $(wc -l <"$WORK/detect.jsonl") from detect"
	if cmp -s <(sort "$WORK/events-$RUN.jsonl") <(sort "$WORK/detect.jsonl"); then
		echo "SAME EVENTS as detect, byte for byte (sorted)"
	else
		echo "DIFFERENT events from detect"
	fi
	psql_ "SET search_path=$SCHEMA,public; SELECT 'chunks', count(*), sum(n) FROM chunks"
	psql_ "SET search_path=$SCHEMA,public; SELECT 'identities', count(*), sum(count) FROM identities"
done
