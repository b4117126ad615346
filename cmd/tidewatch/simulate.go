package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/tidewatch/tidewatch/sim"
)

func runSimulate(e *env, args []string) error {
	sc := sim.DefaultScenario
	var out, truth, start string
	var hours float64
	fs := newFlagSet(e, "simulate", "tidewatch simulate [--ships N] [--hours H] [--interval D] [--loss P] [--seed S] [--out FILE] [--truth FILE]", `
Writes simulated AIS as NMEA with tag blocks (c: time, s: source, g:
groups): background ships on routes across the Yellow Sea, the East China
Sea and the Sea of Japan with reception loss, plus planted DPRK evasion
behaviour (a ship-to-ship transfer between a DPRK tanker and a foreign
tanker in the Korea Bay, a 14-hour dark period far offshore, one MMSI
broadcast by two ships, a draught change at sea, a DPRK port call at
Nampo, an identity change to "fishing") and look-alikes that must not fire
(ships passing close at speed, ships anchored together in port, a short
reception gap). --truth writes what was planted, one JSON object per line.
Everything is simulated: no real ship is depicted. The same flags give the
same bytes.

Example:
  tidewatch simulate --out day.nmea --truth truth.jsonl
  tidewatch detect day.nmea --out events.jsonl`)
	fs.IntVar(&sc.Background, "ships", sc.Background, "background ships")
	fs.Float64Var(&hours, "hours", sc.Duration.Hours(), "simulated hours")
	fs.DurationVar(&sc.Interval, "interval", sc.Interval, "position report interval")
	fs.Float64Var(&sc.LossRate, "loss", sc.LossRate, "share of reports not received (0-1)")
	fs.Int64Var(&sc.Seed, "seed", sc.Seed, "random seed")
	fs.StringVar(&start, "start", sc.Start.Format(time.RFC3339), "start time (RFC 3339)")
	fs.BoolVar(&sc.Planted, "planted", true, "include the planted behaviours and look-alikes")
	fs.StringVar(&out, "out", "", "NMEA output (default stdout)")
	fs.StringVar(&truth, "truth", "", "ground truth output (JSON lines)")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	t0, err := time.Parse(time.RFC3339, start)
	if err != nil {
		return usagef("--start: %v", err)
	}
	sc.Start = t0.UTC()
	if hours <= 0 || hours > 24*31 {
		return usagef("--hours %v: want 0-744", hours)
	}
	sc.Duration = time.Duration(hours * float64(time.Hour))
	if sc.Interval < time.Second || sc.Background < 0 || sc.LossRate < 0 || sc.LossRate >= 1 {
		return usagef("--interval must be at least 1s, --ships at least 0, --loss in [0, 1)")
	}
	bw, done, err := createOutput(e, out)
	if err != nil {
		return err
	}
	var tw io.Writer
	if truth != "" {
		f, err := os.Create(truth)
		if err != nil {
			return err
		}
		defer f.Close()
		tw = f
	}
	if err := sim.Run(sc, bw, tw); err != nil {
		return err
	}
	if err := done(); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "simulated %d ships over %s from %s\n", sc.Background, sc.Duration, sc.Start.Format(time.RFC3339))
	return nil
}
