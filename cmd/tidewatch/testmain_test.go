package main

import (
	"os"
	"testing"
)

// TestMain points the default data directory (lists, the store and its
// audit log) at a temporary one, so tests never touch the user's.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tidewatch-test-data")
	if err != nil {
		panic(err)
	}
	os.Setenv("TIDEWATCH_DATA", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
