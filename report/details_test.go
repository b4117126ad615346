package report

import (
	"encoding/json"

	"github.com/tidewatch/tidewatch/detect"
)

// detailsOf makes typed event details from their JSON keys, as the
// tests wrote them before the details were typed.
func detailsOf(m map[string]any) detect.Details {
	var d detect.Details
	b, _ := json.Marshal(m)
	json.Unmarshal(b, &d)
	return d
}
