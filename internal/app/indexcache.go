package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/tidewatch/tidewatch/sanctions"
	"github.com/tidewatch/tidewatch/screen"
	"github.com/tidewatch/tidewatch/store"
)

// IndexCache keeps built screening indexes across restarts, by key
// (docs/index-cache.md): a server starts from the saved index of the list
// versions in force instead of decoding, merging and indexing every
// list. What it returns is never trusted: it is read back through a
// checksum and the decoder's checks, and anything wrong is dropped and
// rebuilt. internal/indexcache keeps them in a directory.
type IndexCache interface {
	// Get returns what Put stored under key, or an error wrapping
	// store.ErrNotFound.
	Get(key string) ([]byte, error)
	Put(key string, data []byte) error
	// Remove drops a damaged entry.
	Remove(key string) error
}

// indexCacheKey names the index of a set of list versions, as this build
// of the program makes it: the encoding's format, the program (a new
// build may normalise or merge names otherwise) and every version's ID
// and SHA-256, in ID order. Never a time: the same lists, the same key.
func indexCacheKey(program string, vs []sanctions.Version) string {
	ids := make([]sanctions.Version, len(vs))
	copy(ids, vs)
	sort.Slice(ids, func(i, j int) bool { return ids[i].ID < ids[j].ID })
	h := sha256.New()
	fmt.Fprintf(h, "tidewatch screening index\nformat %d\nprogram %s\n", screen.IndexFormat, program)
	for _, v := range ids {
		fmt.Fprintf(h, "version %q %q %q\n", v.ID, v.List, v.SHA256)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// cacheKey is the index cache's key for vs, or "" without a cache.
func (c *screenCache) cacheKey(vs []sanctions.Version) string {
	if c.s.indexCache == nil || c.s.program == "" {
		return ""
	}
	return indexCacheKey(c.s.program, vs)
}

// readCached returns the saved index under key, or nil: none saved, or
// one that fails its checks (logged, removed, and built again).
func (c *screenCache) readCached(key, versions string) *screen.Index {
	if key == "" {
		return nil
	}
	start := time.Now()
	data, err := c.s.indexCache.Get(key)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		c.s.log.Warn("screening index cache unreadable: building the index", "versions", versions, "key", key, "err", err.Error())
		return nil
	}
	ix, err := screen.UnmarshalIndex(data)
	if err != nil {
		c.s.log.Warn("screening index cache entry refused: building the index again", "versions", versions, "key", key, "err", err.Error())
		if err := c.s.indexCache.Remove(key); err != nil {
			c.s.log.Warn("screening index cache: removing the refused entry", "key", key, "err", err.Error())
		}
		return nil
	}
	c.s.log.Info("screening index read from the cache", "versions", versions, "key", key, "bytes", len(data), "seconds", time.Since(start).Seconds())
	return ix
}

// saveCached writes a built index to the cache in the background (the
// server is ready meanwhile); waitSaved waits for the writes.
func (c *screenCache) saveCached(key, versions string, ix *screen.Index) {
	if key == "" {
		return
	}
	c.saves.Add(1)
	go func() {
		defer c.saves.Done()
		start := time.Now()
		data, err := ix.MarshalBinary()
		if err == nil {
			err = c.s.indexCache.Put(key, data)
		}
		if err != nil {
			c.s.log.Warn("screening index cache: saving the index", "versions", versions, "key", key, "err", err.Error())
			return
		}
		c.s.log.Info("screening index saved to the cache", "versions", versions, "key", key, "bytes", len(data), "seconds", time.Since(start).Seconds())
	}()
}

// WaitIndexSaved waits until the indexes built so far are written to the
// index cache (a server calls it on shutdown, so that a start right after
// a stop finds them).
func (s *Service) WaitIndexSaved() { s.screens.saves.Wait() }

// lists returns the index's list datasets (the entities per version, as
// listed). An index read from the cache reads them from the store the
// first time they are asked for: screening never needs them; the
// monitor's diff of a changed list, case files and the lists in force do.
func (idx *screenIndex) lists(ctx context.Context) ([]*sanctions.Dataset, error) {
	idx.dsMu.Lock()
	defer idx.dsMu.Unlock()
	if idx.datasets != nil || idx.load == nil {
		return idx.datasets, nil
	}
	ds, err := idx.load(ctx)
	if err != nil {
		return nil, err
	}
	idx.datasets = ds
	return ds, nil
}
