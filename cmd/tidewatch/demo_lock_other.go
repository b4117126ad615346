//go:build !unix

package main

// demoStoreUser cannot tell here whether another process has the store
// open (store/sqlite keeps to one process per store on such systems).
func demoStoreUser(path string) (int, error) { return 0, nil }
