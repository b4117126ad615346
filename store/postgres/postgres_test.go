package postgres_test

import (
	"context"
	"testing"

	"github.com/tidewatch/tidewatch/store"
	"github.com/tidewatch/tidewatch/store/postgres"
	"github.com/tidewatch/tidewatch/store/postgres/pgtest"
	"github.com/tidewatch/tidewatch/store/storetest"
)

var ctx = context.Background()

func open(t testing.TB, url string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(ctx, url, postgres.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// The PostgreSQL store passes the store conformance suite.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, pgtest.URL(t)) })
}

// Two stores on one database, as two server nodes have, pass the suite
// of several nodes.
func TestConformanceNodes(t *testing.T) {
	storetest.RunNodes(t, func(t *testing.T) (store.Store, store.Store) {
		url := pgtest.URL(t)
		return open(t, url), open(t, url)
	})
}
