package main

import (
	"flag"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/internal/uploadarchive"
	"github.com/tidewatch/tidewatch/store/postgres"
)

// uploadFlags choose the upload archive: where the AIS files received
// through the API are kept for case files (docs/cases.md).
type uploadFlags struct {
	dir  string
	keep bool
}

// register adds --uploads (and, for serve, --keep-uploads).
func (u *uploadFlags) register(fs *flag.FlagSet, serve bool) {
	u.keep = true
	fs.StringVar(&u.dir, "uploads", "", "the folder keeping the AIS files received through the API, by SHA-256, for case files (default: beside a SQLite store, FILE.uploads; a PostgreSQL store has none unless given: a folder every server and exporter mounts at the same path)")
	if serve {
		fs.BoolVar(&u.keep, "keep-uploads", true, "keep each uploaded AIS file (gzip-compressed, by SHA-256, in --uploads) so case files carry its lines; false: case files state them as gaps")
	}
}

// archive returns the archive for a store, or nil and why there is none.
func (u *uploadFlags) archive(storePath string) (*uploadarchive.Dir, string) {
	switch {
	case !u.keep:
		return nil, "serve --keep-uploads=false"
	case u.dir != "":
		return uploadarchive.New(u.dir), ""
	case postgres.IsURL(storePath):
		return nil, "a PostgreSQL store and no --uploads folder"
	case storePath == "":
		return nil, "no store path"
	}
	return uploadarchive.New(storePath + ".uploads"), ""
}

// config sets the service's upload archive.
func (u *uploadFlags) config(cfg *app.Config, storePath string) *uploadarchive.Dir {
	d, why := u.archive(storePath)
	if d != nil {
		cfg.Uploads = d
	}
	cfg.UploadsOff = why
	return d
}
