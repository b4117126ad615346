package app

import (
	"reflect"
	"testing"
)

// screenResultHead holds ScreenResult's members before its provenance:
// a field added to one and not the other would be left out of the
// answers WriteJSON writes.
func TestScreenResultHeadInStep(t *testing.T) {
	full, head := reflect.TypeFor[ScreenResult](), reflect.TypeFor[screenResultHead]()
	var names []string
	for i := range full.NumField() {
		switch f := full.Field(i); f.Name {
		case "Provenance", "AuditSeq", "provJSON":
		default:
			names = append(names, f.Name+" "+string(f.Tag))
		}
	}
	var heads []string
	for i := range head.NumField() {
		f := head.Field(i)
		heads = append(heads, f.Name+" "+string(f.Tag))
	}
	if !reflect.DeepEqual(names, heads) {
		t.Fatalf("ScreenResult's members before its provenance %q, screenResultHead's %q", names, heads)
	}
	if full.NumField() != head.NumField()+3 || full.Field(full.NumField()-3).Name != "Provenance" {
		t.Fatalf("ScreenResult must end with Provenance, AuditSeq and provJSON, after the head's fields")
	}
}
