// Package pgtest gives tests a PostgreSQL database of their own: a new
// schema on the server TIDEWATCH_TEST_POSTGRES names, dropped after.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tidewatch/tidewatch/store/postgres"
)

// Env names the variable that gives tests a PostgreSQL server
// (a database with PostGIS, or where the test user may create it):
// .ci/run sets it to a throwaway server of its own.
const Env = "TIDEWATCH_TEST_POSTGRES"

// inCI says the tests run in CI, where a missing server is a failure.
func inCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v != "" && v != "false" && v != "0"
}

// URL returns the URL of a new, empty schema of its own for one test
// (dropped when the test ends) on the server TIDEWATCH_TEST_POSTGRES
// names. Without the variable the test is skipped, or fails in CI (CI
// set): CI must not pass by skipping the PostgreSQL store.
func URL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(Env)
	if base == "" {
		if inCI() {
			t.Fatalf("%s is not set: CI must run the PostgreSQL store's tests (.ci/run starts a server)", Env)
		}
		t.Skipf("%s is not set: no PostgreSQL server to test against (.ci/postgres.sh starts one)", Env)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to %s: %v", postgres.Redact(base), err)
	}
	defer conn.Close(ctx)
	// PostGIS goes in public, once, before any test's schema needs it.
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(7411)`); err != nil {
		t.Fatal(err)
	}
	_, err = conn.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS postgis SCHEMA public`)
	conn.Exec(ctx, `SELECT pg_advisory_unlock(7411)`)
	if err != nil {
		t.Fatalf("PostGIS: %v", err)
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "tw_test_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema+",public")
	u.RawQuery = q.Encode()
	return u.String()
}
