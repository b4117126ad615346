#!/usr/bin/env bash
# Side-by-side screening-server benchmark (docs/benchmarks.md): starts Moov
# Watchman (../shared/peers/watchman) and Tidewatch on the same list files,
# times each one's start until it answers, and loads both with twload in
# the same run, interleaved: single-name vessel screening at concurrency C.
# Usage: scripts/bench-vs-watchman.sh [SECONDS] [CONCURRENCY] [ROUNDS] [TWLOAD FLAGS]
# (e.g. -raw: prepared requests on keep-alive connections, a cheaper client
# for both servers alike)
# PIN=1 runs each server on CPU 0 and the load generator on CPU 1 (taskset),
# the same for both servers: the load generator then takes none of the
# server's CPU, as on a separate machine, and each server is measured on one
# core (Go sets GOMAXPROCS from the CPUs it may use: 1 for both).
# AT10X=1 adds a third load each round: Tidewatch at a fixed rate of ten
# times the throughput Watchman just reached (twload -rate: an open loop,
# latency counted from when each request was due), the p99 at the
# throughput the issue asks for rather than at saturation.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10} conc=${2:-32} rounds=${3:-3} extra=${4:-}
lists=../shared/data/lists
work=$(mktemp -d)
srv="" cli=""
if [ "${PIN:-}" = 1 ]; then srv="taskset -c 0" cli="taskset -c 1"; fi
# RT=1 (as root, with PIN=1) runs both servers and the load generator
# under the real-time round-robin policy, so that other work on the
# machine (other users' builds and tests) cannot take their CPUs: the
# measurement of a dedicated machine on a shared one. The kernel's
# real-time throttling (95% of each second by default, which would stop
# a saturated server for 50 ms a second) is lifted for the run and put
# back at the end.
rt_saved=""
if [ "${RT:-}" = 1 ]; then
	if [ "$(id -u)" != 0 ] || [ "${PIN:-}" != 1 ]; then echo "RT=1 needs root and PIN=1" >&2; exit 2; fi
	rt_saved=$(cat /proc/sys/kernel/sched_rt_runtime_us)
	echo -1 > /proc/sys/kernel/sched_rt_runtime_us
	srv="chrt -r 50 $srv" cli="chrt -r 50 $cli"
fi
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; [ -z "$rt_saved" ] || echo "$rt_saved" > /proc/sys/kernel/sched_rt_runtime_us' EXIT
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

# cpu PID: the process's user+system CPU so far, in clock ticks.
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
tck=$(getconf CLK_TCK)
# load NAME PID ARGS...: runs twload and prints, besides its line, the
# server's and the load generator's CPU per request (the machine's two
# cores are shared by both: CPU per request is the server's own cost,
# whatever the load generator and other jobs take).
load() {
	local name=$1 pid=$2; shift 2
	local before after out n c0 c1
	before=$(cpu "$pid")
	c0=$(core0)
	out=$(/usr/bin/time -f "%U %S" -o "$work/time" $cli "$work/twload" -json "$@")
	after=$(cpu "$pid")
	c1=$(core0)
	n=$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])')
	last_rps=$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests_per_second"])')
	echo "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print("%s c=%d: %d requests in %.1f s = %.0f/s; latency p50 %.2f ms, p99 %.2f ms; %d errors" % (sys.argv[1], d["concurrency"], d["requests"], d["seconds"], d["requests_per_second"], d["p50_ms"], d["p99_ms"], d["errors"]) + ("" if not d.get("rate") else "\n  offered %.0f/s, latency from when each request was due: %d sent over 1 ms late, p99 from the send %.2f ms" % (d["rate"], d.get("late", 0), d.get("sent_p99_ms", 0))))' "$name"
	awk -v b="$before" -v a="$after" -v t="$tck" -v n="$n" -v name="$name" '{ printf "  %s server CPU %.0f us a request; load generator %.0f us a request\n", name, (a-b)/t/n*1e6, ($1+$2)/n*1e6 }' "$work/time"
	# With PIN=1 the server has CPU 0 to itself only if nothing else runs
	# there: what else took it during the load (other processes, the
	# kernel) is printed, so that a round slowed by other work shows.
	if [ -n "$srv" ]; then
		echo "$c0 $c1 $before $after" | awk '{ busy=$3-$1; idle=$4-$2; tot=busy+idle; srv=$6-$5; if (srv > busy) srv=busy; if (tot > 0) printf "  CPU 0 during the load: the server %.0f%%, other work %.0f%%, idle %.0f%%\n", 100*srv/tot, 100*(busy-srv)/tot, 100*idle/tot }'
	fi
}

# core0: CPU 0's busy and idle ticks so far (/proc/stat).
core0() { awk '$1 == "cpu0" { print $2+$3+$4+$7+$8+$9, $5+$6 }' /proc/stat; }

for r in $(seq "$rounds"); do
	WATCHMAN_BIN="$work/watchman-server" WATCHMAN_PIDFILE="$work/wpid" $srv bash ../shared/peers/watchman/run.sh "$lists" 18090 >/dev/null 2>&1 &
	wpid=$!
	wstart=$(wait_for "http://127.0.0.1:18090/ping")
	$srv "$work/tidewatch" serve --store "$work/tw.db" --addr 127.0.0.1:18091 --rate -1 --update-lists 0 >/dev/null 2>"$work/tw.log" &
	tpid=$!
	tstart=$(wait_for "http://127.0.0.1:18091/readyz")
	echo "round $r: ready in watchman ${wstart}s, tidewatch ${tstart}s"
	load watchman "$(cat "$work/wpid")" $extra -target watchman -url http://127.0.0.1:18090 -c "$conc" -duration "${secs}s"
	wrps=$last_rps
	load tidewatch "$tpid" $extra -target tidewatch -url http://127.0.0.1:18091 -key "$key" -c "$conc" -duration "${secs}s"
	if [ "${AT10X:-}" = 1 ]; then
		load "tidewatch at 10x watchman" "$tpid" $extra -target tidewatch -url http://127.0.0.1:18091 -key "$key" -c "$conc" -duration "${secs}s" -rate "$(echo "$wrps * 10" | bc)"
	fi
	kill $wpid $tpid; wait $wpid $tpid 2>/dev/null || true
done
