//go:build unix

package main

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// demoStoreUser returns the id of a process that has the SQLite store at
// path open (0: none). SQLite, in the WAL mode the store uses, holds a
// shared lock on one byte of the store's -shm file (UNIX_SHM_DMS, byte
// 128) for as long as a connection has the store open: a process that
// would lock that byte for writing finds it held. F_GETLK only asks, and
// sees other processes' locks only (this process has not opened the
// store: closing f would drop its own locks on the file).
func demoStoreUser(path string) (int, error) {
	f, err := os.Open(path + "-shm")
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil // no connection has the store open in WAL mode
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: io.SeekStart, Start: 128, Len: 1}
	if err := syscall.FcntlFlock(f.Fd(), syscall.F_GETLK, &lk); err != nil {
		return 0, err
	}
	if lk.Type == syscall.F_UNLCK {
		return 0, nil
	}
	return int(lk.Pid), nil
}
