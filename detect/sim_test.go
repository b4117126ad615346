package detect_test

import (
	"bytes"
	"testing"

	"github.com/tidewatch/tidewatch/sim"
)

// simNMEA runs the simulator's default scenario (its planted cases among
// background ships) as edit changes it, and returns the NMEA it wrote and
// the scenario run.
func simNMEA(t testing.TB, edit func(*sim.Scenario)) ([]byte, sim.Scenario) {
	t.Helper()
	sc := sim.DefaultScenario
	edit(&sc)
	var nmea bytes.Buffer
	if err := sim.Run(sc, &nmea, nil); err != nil {
		t.Fatal(err)
	}
	return nmea.Bytes(), sc
}
