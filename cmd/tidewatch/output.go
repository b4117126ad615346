package main

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/tidewatch/tidewatch/geo"
)

// createOutput opens path for writing (stdout for "" or "-") behind a
// buffer. done flushes and closes it and reports the first error, so a
// full disk is an error, not a short file.
func createOutput(e *env, path string) (w *bufio.Writer, done func() error, err error) {
	if path == "" || path == "-" {
		w = bufio.NewWriterSize(e.stdout, 1<<20)
		return w, w.Flush, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, err
	}
	w = bufio.NewWriterSize(f, 1<<20)
	return w, func() error {
		ferr := w.Flush()
		cerr := f.Close()
		if ferr != nil {
			return fmt.Errorf("write %s: %w", path, ferr)
		}
		if cerr != nil {
			return fmt.Errorf("close %s: %w", path, cerr)
		}
		return nil
	}, nil
}

// loadGeo loads the embedded land, ports and (unless none) built-in zones.
func loadGeo(builtinZones bool) (*geo.Land, *geo.Ports, []*geo.Zone, error) {
	land, err := geo.LoadLand()
	if err != nil {
		return nil, nil, nil, err
	}
	ports, err := geo.LoadPorts()
	if err != nil {
		return nil, nil, nil, err
	}
	var zones []*geo.Zone
	if builtinZones {
		if zones, err = geo.BuiltinZones(); err != nil {
			return nil, nil, nil, err
		}
	}
	return land, ports, zones, nil
}

// userZones appends the zones of a GeoJSON file (--zones) to zones; a
// file that does not parse is a usage error.
func userZones(zones []*geo.Zone, path string) ([]*geo.Zone, error) {
	if path == "" {
		return zones, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	extra, err := geo.ParseZones(f, "user")
	if err != nil {
		return nil, usagef("--zones %s: %v", path, err)
	}
	return append(zones, extra...), nil
}

// joinCounts writes counts as "a 1, b 2" in key order.
func joinCounts[V int | int64](m map[string]V, sep string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, sep)
}
