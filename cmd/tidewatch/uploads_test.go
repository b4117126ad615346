package main

import (
	"flag"
	"io"
	"testing"
)

// Where serve keeps uploads and case export reads them: beside a SQLite
// store by default, nowhere on PostgreSQL unless given, nowhere when
// turned off (each with its reason, which case files quote).
func TestUploadFlags(t *testing.T) {
	for _, c := range []struct {
		args        []string
		store, want string
		why         string
	}{
		{nil, "/data/tw.db", "/data/tw.db.uploads", ""},
		{[]string{"--uploads", "/shared/up"}, "/data/tw.db", "/shared/up", ""},
		{nil, "postgres://db/tw", "", "a PostgreSQL store and no --uploads folder"},
		{[]string{"--uploads", "/shared/up"}, "postgres://db/tw", "/shared/up", ""},
		{[]string{"--keep-uploads=false"}, "/data/tw.db", "", "serve --keep-uploads=false"},
	} {
		var u uploadFlags
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		u.register(fs, true)
		if err := fs.Parse(c.args); err != nil {
			t.Fatal(err)
		}
		d, why := u.archive(c.store)
		got := ""
		if d != nil {
			got = d.Path()
		}
		if got != c.want || why != c.why {
			t.Errorf("%v on %s: %q (%q), want %q (%q)", c.args, c.store, got, why, c.want, c.why)
		}
	}
}
