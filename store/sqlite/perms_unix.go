//go:build unix

package sqlite

import (
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
)

// makePrivate takes the group's and others' permissions off the
// database file and its -wal and -shm files (beside the file a symbolic
// link names, where SQLite keeps them), for a store opened with write
// access: a store made by a build before 3 December 2026 under umask 022
// is 0644, readable by every local user. Only regular files the process
// owns are changed (a chmod of anyone else's fails anyway); a file that
// cannot be changed is left as it is and the store opens. SQLite gives
// a new -wal or -shm the database file's mode, so the next ones are
// private too.
func makePrivate(path string) {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return
	}
	uid := os.Getuid()
	for _, p := range []string{real, real + "-wal", real + "-shm"} {
		fi, err := os.Lstat(p)
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o077 == 0 {
			continue
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok || int(st.Uid) != uid {
			continue
		}
		mode := fi.Mode().Perm() &^ 0o077
		if err := os.Chmod(p, mode); err != nil {
			slog.Warn("store: could not make a store file private", "file", p, "mode", fmtMode(fi.Mode().Perm()), "error", err)
			continue
		}
		slog.Info("store: file made private (the owner's alone)", "file", p, "was", fmtMode(fi.Mode().Perm()), "now", fmtMode(mode))
	}
}

func fmtMode(m fs.FileMode) string { return fmt.Sprintf("%04o", uint32(m)) }
