package app

import (
	"testing"

	"github.com/tidewatch/tidewatch/store"
)

// TestHitWordsPunctuation: the events' sentences are joined without
// their full stops (no ".;" nor ".." in an alert's reason), and list
// records past the fifth are counted, not dropped in silence.
func TestHitWordsPunctuation(t *testing.T) {
	ev := []store.AlertEvidence{{Text: "SHIP A loitered at sea."}, {Text: "SHIP A changed its name."}}
	hits := []string{"a", "b", "c", "d", "e", "f", "g"}
	got := "The band changed" + hitWords(ev, hits) + "."
	want := "The band changed after new events: SHIP A loitered at sea; SHIP A changed its name; its identity now matches 7 list record(s): a, b, c, d, e and 2 more."
	if got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	if got := "Changed" + hitWords(ev[:1], nil) + "."; got != "Changed after new events: SHIP A loitered at sea." {
		t.Fatalf("got %q", got)
	}
}
