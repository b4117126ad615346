package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/risk"
	"github.com/tidewatch/tidewatch/store"
	"github.com/tidewatch/tidewatch/store/postgres"
	"github.com/tidewatch/tidewatch/store/sqlite"
)

// defaultStore is the embedded store's file.
func defaultStore() string { return filepath.Join(defaultDataDir(), "tidewatch.db") }

// storeFlags are --store (every command that reads or writes stored
// data) and, for commands that write, --create.
// shown is the store's name for messages: a PostgreSQL URL without its
// password.
func (sf storeFlags) shown() string {
	if postgres.IsURL(sf.path) {
		return postgres.Redact(sf.path)
	}
	return sf.path
}

type storeFlags struct {
	path   string
	create bool
	write  bool
	// indexCache is where the screening index is saved and read
	// (openIndexCache: "" the default beside the store, "off" never).
	indexCache string
	// notes is where a store made without being asked for is said
	// (the flag set's output: the command's standard error).
	notes io.Writer
}

func (o *storeFlags) register(fs *flag.FlagSet, write bool) {
	o.write, o.notes = write, fs.Output()
	fs.StringVar(&o.path, "store", defaultStore(), "the store: a file (embedded SQLite), or postgres://... (a PostgreSQL database shared by several servers)")
	if write {
		fs.BoolVar(&o.create, "create", false, "create the store if --store names a file that does not exist")
	}
}

// cliStore is the store a command opens: SQLite's file or PostgreSQL's
// database.
type cliStore interface {
	store.Store
	Path() string
	ReadOnly() bool
}

// open opens the store. The default store is created when a command
// writes to it; any other path must exist unless --create says to make it
// (a mistyped path must not silently start an empty store and audit log).
// A command that only reads opens a store it cannot write read-only.
// A postgres:// URL opens store/postgres: the database must exist, and
// hold a store unless --create says to make one in it.
func (o *storeFlags) open() (cliStore, error) {
	if postgres.IsURL(o.path) {
		return postgres.Open(context.Background(), o.path, postgres.Options{Create: o.create})
	}
	_, err := os.Stat(o.path)
	missing := errors.Is(err, os.ErrNotExist)
	switch {
	case missing && !o.write:
		return nil, fmt.Errorf("no store at %s (build one with 'tidewatch ingest', or give --store)", o.path)
	case missing && !o.create && o.path != defaultStore():
		return nil, fmt.Errorf("no store at %s: give the path of an existing store, or add --create (or run 'tidewatch init --store %s') to make a new one", o.path, o.path)
	}
	st, err := sqlite.OpenWith(o.path, sqlite.Options{Create: true, ReadOnly: false})
	if err == nil && missing && !o.create && o.notes != nil {
		// The default store is made when first needed (a first 'screen'
		// records its screening there): say so, once, where it is.
		fmt.Fprintf(o.notes, "note: made the default store at %s, which keeps this command's audit record (--store or $TIDEWATCH_DATA choose another)\n", o.path)
	}
	return st, err
}

// service opens the store and wraps it in the application core.
func (o *storeFlags) service(cfg app.Config) (*app.Service, cliStore, error) {
	st, err := o.open()
	if err != nil {
		return nil, nil, err
	}
	cfg.Store = st
	if cfg.IndexCache == nil {
		// Every command that screens reads the index its last run saved
		// (a second 'tidewatch vessel' or 'screen' on the same lists does
		// not build it again); a cache that cannot be opened is no cache.
		lg := cfg.Logger
		if lg == nil {
			lg = slog.New(slog.DiscardHandler)
		}
		cfg.IndexCache, cfg.Program = openIndexCache(o.indexCache, o.path, lg)
	}
	s := app.New(cfg)
	return s, st, nil
}

// closeService flushes the service's background work (an index being
// saved to the cache included) and closes the store.
func closeService(s *app.Service, st cliStore) {
	s.WaitIndexSaved()
	s.Close()
	st.Close()
}

// riskConfig reads --weights for the risk weights.
func riskConfig(path string) (*risk.Config, error) {
	if path == "" {
		return nil, nil
	}
	c, err := risk.LoadConfig(path)
	if err != nil {
		return nil, usagef("%v", err)
	}
	return &c, nil
}

// localPrincipal is whoever runs the CLI, acting for the local tenant.
func localPrincipal(by string) app.Principal { return app.LocalPrincipal(by) }

func currentUser() string {
	if u := userName(); u != "" {
		return u
	}
	return "unknown"
}

// userName is who runs the CLI: $TIDEWATCH_USER, $USER, or the login
// name of the process's user (a container or a cron job often has no
// $USER); "" when none is known.
func userName() string {
	if u := os.Getenv("TIDEWATCH_USER"); u != "" {
		return u
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return ""
}

func runInit(e *env, args []string) error {
	var path string
	fs := newFlagSet(e, "init", "tidewatch init [--store FILE]", `
Creates an empty store (the schema, the local tenant) at --store, and
stores the embedded list snapshot in it. Commands that write refuse a
--store path that does not exist, so a mistyped path cannot start an
empty store and audit log by accident: make a new one with this command
(or --create).`)
	fs.StringVar(&path, "store", defaultStore(), "the store file to create, or a postgres://... database to create it in")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	var st cliStore
	if postgres.IsURL(path) {
		if db, err := postgres.Open(context.Background(), path, postgres.Options{}); err == nil {
			db.Close()
			return fmt.Errorf("%s holds a store already", db.Path())
		} else if !errors.Is(err, postgres.ErrNoStore) {
			return err
		}
		db, err := postgres.Open(context.Background(), path, postgres.Options{Create: true})
		if err != nil {
			return err
		}
		st, path = db, db.Path()
	} else {
		if _, err := os.Stat(path); err == nil {
			return fmt.Errorf("%s exists already", path)
		}
		db, err := sqlite.OpenWith(path, sqlite.Options{Create: true})
		if err != nil {
			return err
		}
		st = db
	}
	s := app.New(app.Config{Store: st})
	defer closeService(s, st)
	n, err := s.EnsureLists(context.Background())
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "store created at %s with %d list versions from the embedded snapshot\n", path, n)
	return nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
