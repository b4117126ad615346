//go:build !unix

package sqlite

// makePrivate does nothing where files have no Unix modes.
func makePrivate(path string) {}
