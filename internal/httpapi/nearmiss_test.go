package httpapi

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/screen"
)

// A listed ship's exact name with another valid IMO: no match (the score
// stays 0.85), and the answer's near_misses name the listed vessel and
// both IMO numbers, in /v1/screen and in /v1/screen/batch, as the OpenAPI
// document describes them (each field of app.NearMiss documented there).
// Before, the answer was an empty list of results.
func TestNearMissInAPI(t *testing.T) {
	e := env(t)
	ts := startServer(t, Options{})
	doc := ts.openAPIDoc(t)
	key := e.key(tenantA, app.RoleViewer)
	const msg = "name of listed vessel CHON MA SAN (ofac-sdn:23729), IMO differs: query 9811000, listed 8660313"

	r := ts.call(t, "POST", "/v1/screen", key, ScreenRequest{Type: "vessel", Name: "CHON MA SAN", IMO: "9811000"})
	if r.status != http.StatusOK {
		t.Fatalf("screen: %s", r)
	}
	checkAgainstDoc(t, doc, ts.findRoute("POST /v1/screen"), r)
	var res app.ScreenResult
	if err := json.Unmarshal(r.body, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Matches) != 0 || len(res.NearMisses) != 1 {
		t.Fatalf("results %+v, near misses %+v", res.Matches, res.NearMisses)
	}
	n := res.NearMisses[0]
	if n.Kind != screen.NearMissIMODiffers || n.Entity != "ofac-sdn:23729" || n.QueryIMO != "IMO9811000" || n.ListedIMO != "IMO8660313" ||
		n.Score != 0.85 || n.NameScore != 1 || n.Message != msg || len(n.Sources) == 0 {
		t.Errorf("near miss %+v", n)
	}
	// With its own IMO the ship is a match and there is no near miss.
	r = ts.call(t, "POST", "/v1/screen", key, ScreenRequest{Type: "vessel", Name: "CHON MA SAN", IMO: "8660313"})
	var match app.ScreenResult
	json.Unmarshal(r.body, &match)
	if len(match.Matches) == 0 || !match.Matches[0].Match || len(match.NearMisses) != 0 || json.Valid(r.body) && containsKey(r.body, "near_misses") {
		t.Errorf("with the listed IMO: %s", r)
	}

	r = ts.call(t, "POST", "/v1/screen/batch", key, BatchRequest{Queries: []screen.Query{{Type: "vessel", Name: "CHON MA SAN", IMO: "9811000"}, {Type: "vessel", Name: "CHON MA SAN"}}})
	if r.status != http.StatusOK {
		t.Fatalf("batch: %s", r)
	}
	checkAgainstDoc(t, doc, ts.findRoute("POST /v1/screen/batch"), r)
	var br app.BatchResult
	json.Unmarshal(r.body, &br)
	if len(br.Rows) != 2 || br.Rows[0].Hit || len(br.Rows[0].NearMisses) != 1 || br.Rows[0].NearMisses[0].Message != msg ||
		!br.Rows[1].Hit || len(br.Rows[1].NearMisses) != 0 || br.Hits != 1 || br.NearMissRows != 1 {
		t.Errorf("batch %s", r)
	}

	// The document describes the typed field and every one of its fields.
	comps := doc["components"].(map[string]any)["schemas"].(map[string]any)
	sr := comps["app_ScreenResult"].(map[string]any)["properties"].(map[string]any)
	if _, ok := sr["near_misses"]; !ok {
		t.Errorf("app_ScreenResult has no near_misses: %v", sr)
	}
	nm, ok := comps["app_NearMiss"].(map[string]any)
	if !ok {
		t.Fatal("no app_NearMiss schema")
	}
	props := nm["properties"].(map[string]any)
	for _, f := range []string{"kind", "entity", "name", "matched_name", "score", "name_score", "query_imo", "listed_imo", "sources", "message"} {
		p, ok := props[f].(map[string]any)
		if !ok {
			t.Errorf("app_NearMiss lacks %s", f)
			continue
		}
		if d, _ := p["description"].(string); d == "" {
			t.Errorf("app_NearMiss.%s has no description", f)
		}
	}
}

func containsKey(body []byte, key string) bool {
	var m map[string]json.RawMessage
	json.Unmarshal(body, &m)
	_, ok := m[key]
	return ok
}
