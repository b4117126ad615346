package track

import "unsafe"

// prefetch asks the processor to start loading the cache line at p and
// returns at once (PREFETCHT0: no fault, no wait, no effect on results).
//
//go:noescape
func prefetch(p unsafe.Pointer)
