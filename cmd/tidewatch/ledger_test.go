package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/sim"
)

// scenarioStore is a store holding the embedded lists and the demo's
// simulated DPRK scenario (72 hours, a few background ships), built once
// for the package's tests; each test copies it.
var (
	scenarioOnce sync.Once
	scenarioDB   string
	scenarioNMEA string
	scenarioErr  string
)

func demoScenarioStore(t *testing.T) (db, nmea string) {
	t.Helper()
	scenarioOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tidewatch-cmd-scenario")
		if err != nil {
			scenarioErr = err.Error()
			return
		}
		sc := demoScenario()
		sc.Background = 5
		p := filepath.Join(dir, "scenario.nmea")
		f, err := os.Create(p)
		if err == nil {
			err = sim.Run(sc, f, nil)
			f.Close()
		}
		if err != nil {
			scenarioErr = err.Error()
			return
		}
		scenarioDB, scenarioNMEA = filepath.Join(dir, "s.db"), p
		if code, _, errs := tw(t, "ingest", "--store", scenarioDB, "--create", p); code != 0 {
			scenarioErr = errs
		}
	})
	if scenarioErr != "" {
		t.Fatalf("scenario store: %s", scenarioErr)
	}
	dst := filepath.Join(t.TempDir(), "s.db")
	b, err := os.ReadFile(scenarioDB)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dst, scenarioNMEA
}

func TestLedgerCommands(t *testing.T) {
	db, _ := demoScenarioStore(t)
	code, out, errs := tw(t, "ledger", "--store", db, "--year", "2026")
	if code != 0 {
		t.Fatalf("ledger: %d %s", code, errs)
	}
	for _, want := range []string{"estimated: 1 delivery", "MMSI 445000101", "at Nampo", "after encounter", "667000202 SIM OCEAN STAR (tanker)",
		"fully laden 58,494 (49,314-82,157) bbl", "fully laden      58,494 (49,314-82,157)  11.7% (9.9%-16.4%)", "SIMULATED"} {
		if !strings.Contains(out, want) {
			t.Errorf("ledger lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = tw(t, "ledger", "--store", db, "--year", "2026", "--json")
	var res app.LedgerResult
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || len(res.Years) != 1 || len(res.Years[0].Estimates) != 1 {
		t.Fatalf("json: %d %s", code, out)
	}
	est := res.Years[0].Estimates[0]
	// The estimate's events are the stored ones.
	code, evs, _ := tw(t, "events", "--store", db, "--vessel", "445000101", "--json")
	for _, id := range est.EventIDs {
		if code != 0 || !strings.Contains(evs, `"id":"`+id+`"`) {
			t.Errorf("event %s of the estimate is not among the vessel's events", id)
		}
	}

	// Records: import the embedded figures, add, edit, delete.
	if code, out, errs := tw(t, "ledger", "import", "--embedded", "--store", db); code != 0 || !strings.Contains(out, "11 records added") {
		t.Fatalf("import: %d %s %s", code, out, errs)
	}
	if _, out, _ := tw(t, "ledger", "import", "--embedded", "--store", db); !strings.Contains(out, "0 records added, 11 already held") {
		t.Errorf("import again: %s", out)
	}
	code, out, errs = tw(t, "ledger", "records", "add", "--store", db, "--from", "2026-01-01", "--to", "2026-01-31", "--supplier", "China",
		"--quantity", "1000", "--unit", "t", "--product", "gas_diesel_oil", "--source", "https://example.org/jan")
	if code != 0 {
		t.Fatalf("add: %s", errs)
	}
	id := strings.Fields(out)[1]
	if code, _, errs := tw(t, "ledger", "records", "edit", id, "--quantity", "2000", "--store", db); code != 0 {
		t.Fatalf("edit: %s", errs)
	}
	_, out, _ = tw(t, "ledger", "--store", db, "--year", "2026")
	// 2,000 t x 7.23 bbl/t = 14,460 bbl notified.
	if !strings.Contains(out, "notified: 14,460 bbl, 2.9% of the cap") || !strings.Contains(out, "2,000 t") {
		t.Errorf("after the edit:\n%s", out)
	}
	if code, _, _ := tw(t, "ledger", "records", "delete", id, "--store", db); code != 0 {
		t.Error("delete")
	}
	if code, _, errs := tw(t, "ledger", "records", "add", "--store", db, "--from", "2026-01-01", "--to", "2027-01-31", "--supplier", "China",
		"--quantity", "1", "--unit", "t", "--source", "x"); code != 1 || !strings.Contains(errs, "spans two years") {
		t.Errorf("a record across years: %d %s", code, errs)
	}
	// A bad CSV row costs itself only, and fails the command.
	csv := filepath.Join(t.TempDir(), "n.csv")
	os.WriteFile(csv, []byte("period_start,period_end,supplier,quantity,unit,source\n2025-03-01,2025-03-31,China,500,bbl,https://a.example\n2025-04-01,2025-04-30,China,many,bbl,https://a.example\n"), 0o644)
	code, out, errs = tw(t, "ledger", "import", csv, "--store", db)
	if code != 1 || !strings.Contains(out, "1 records added") || !strings.Contains(errs, "line 3") {
		t.Errorf("csv import: %d %s %s", code, out, errs)
	}

	// Capacity and factors: recomputed at once.
	if code, out, errs := tw(t, "ledger", "capacity", "set", "8660313", "--dwt", "3000", "--source", "test", "--store", db); code != 0 || !strings.Contains(out, "imo:8660313") {
		t.Fatalf("capacity: %s %s", out, errs)
	}
	_, out, _ = tw(t, "ledger", "--store", db, "--year", "2026")
	if !strings.Contains(out, "fully laden 22,500 (22,500-24,990) bbl") {
		t.Errorf("after the capacity was set:\n%s", out)
	}
	if code, _, errs := tw(t, "ledger", "factors", "set", "unspecified", "--bbl-per-tonne", "8", "--low", "7.6", "--high", "8.4", "--source", "test", "--store", db); code != 0 {
		t.Fatalf("factor: %s", errs)
	}
	_, out, _ = tw(t, "ledger", "--store", db, "--year", "2026")
	if !strings.Contains(out, "fully laden 24,000 (22,800-25,200) bbl") {
		t.Errorf("after the factor changed:\n%s", out)
	}
	if _, out, _ := tw(t, "ledger", "factors", "--store", db); !strings.Contains(out, "unspecified          8 (7.6-8.4)") {
		t.Errorf("factors:\n%s", out)
	}
	if code, _, _ := tw(t, "ledger", "capacity", "delete", "8660313", "--store", db); code != 0 {
		t.Error("capacity delete")
	}
}

// The tester's messages: edit with no field, a year before the cap, a
// factor's low bound alone, published estimates' scenarios by name, a
// capacity by MMSI beside the IMO's, a record that is not added says why.
func TestLedgerMessages(t *testing.T) {
	db, _ := demoScenarioStore(t)
	if code, out, errs := tw(t, "ledger", "import", "--embedded", "--store", db); code != 0 {
		t.Fatalf("import: %s %s", out, errs)
	}
	_, out, _ := tw(t, "ledger", "records", "--store", db, "--json")
	id := out[strings.Index(out, `"id":"`)+6:]
	id = id[:strings.Index(id, `"`)]
	if code, _, errs := tw(t, "ledger", "records", "edit", id, "--store", db); code != 2 || !strings.Contains(errs, "give the fields to change") {
		t.Errorf("edit with no field: %d %s", code, errs)
	}
	if code, out, _ := tw(t, "ledger", "--store", db, "--year", "2017"); code != 0 || strings.Contains(out, "share") || strings.Contains(out, "of the cap") || !strings.Contains(out, "no cap before 2018") {
		t.Errorf("2017:\n%s", out)
	}
	if code, _, errs := tw(t, "ledger", "factors", "set", "fuel_oil", "--bbl-per-tonne", "6.91", "--low", "6.5", "--source", "test", "--store", db); code != 0 {
		t.Errorf("--low alone: %s", errs)
	}
	if _, out, _ := tw(t, "ledger", "factors", "--store", db); !strings.Contains(out, "6.91 (6.5-6.91)") {
		t.Errorf("factors after --low alone:\n%s", out)
	}
	_, out, _ = tw(t, "ledger", "--store", db, "--year", "2018")
	if !strings.Contains(out, "not added: within ") || !strings.Contains(out, "a part of a figure already counted") {
		t.Errorf("2018's covered record:\n%s", out)
	}
	if strings.Contains(out, "bbl (full)") || strings.Contains(out, "bbl (90)") || !strings.Contains(out, "bbl (90% laden)") || !strings.Contains(out, "bbl (fully laden)") {
		t.Errorf("published estimates' scenarios by id:\n%s", out)
	}
	if code, _, _ := tw(t, "ledger", "capacity", "set", "8660313", "--dwt", "3000", "--source", "test", "--store", db); code != 0 {
		t.Fatal("capacity by IMO")
	}
	if code, _, errs := tw(t, "ledger", "capacity", "set", "445000101", "--dwt", "5000", "--source", "test", "--store", db); code != 0 || !strings.Contains(errs, "warning: MMSI 445000101 broadcast IMO 8660313") {
		t.Errorf("capacity by MMSI beside the IMO's: %d %s", code, errs)
	}
	// A figure is shown as stored, decimals included: 0.5 bbl is not
	// "1 bbl", 1,000.25 t not "1,000 t".
	for _, q := range [][2]string{{"0.5", "bbl"}, {"1000.25", "t"}} {
		if code, _, errs := tw(t, "ledger", "records", "add", "--store", db, "--from", "2026-05-01", "--to", "2026-05-31", "--supplier", "Russia",
			"--quantity", q[0], "--unit", q[1], "--product", "gas_diesel_oil", "--source", "https://example.org/half"); code != 0 {
			t.Fatalf("add %s %s: %s", q[0], q[1], errs)
		}
	}
	_, out, _ = tw(t, "ledger", "records", "--store", db)
	if !regexp.MustCompile(`Russia +0\.5 bbl +0\.5 bbl `).MatchString(out) || !regexp.MustCompile(`Russia +1,000\.25 t +7,232 bbl `).MatchString(out) {
		t.Errorf("records with decimals:\n%s", out)
	}
	if _, out, _ = tw(t, "ledger", "--store", db, "--year", "2026"); !regexp.MustCompile(`Russia +0\.5 bbl +0\.5 bbl `).MatchString(out) {
		t.Errorf("the year's records with decimals:\n%s", out)
	}
	// A negative factor (or quantity) in a file says so, not "not a number".
	csv := filepath.Join(t.TempDir(), "neg.csv")
	os.WriteFile(csv, []byte("period_start,period_end,supplier,quantity,unit,source,factor\n2025-03-01,2025-03-31,China,500,t,https://a.example,-7\n2025-04-01,2025-04-30,China,-500,t,https://a.example,\n"), 0o644)
	code, _, errs := tw(t, "ledger", "import", csv, "--store", db)
	if code != 1 || !strings.Contains(errs, `factor "-7": must be positive`) || !strings.Contains(errs, `quantity "-500": must be positive`) || strings.Contains(errs, "not a number") {
		t.Errorf("negative figures: %d %s", code, errs)
	}
}
