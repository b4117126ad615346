package track

import "unsafe"

// prefetch asks the processor to start loading the cache line at p and
// returns at once (PREFETCHT0: no fault, no wait, no effect on results).
//
//go:noescape
func prefetch(p unsafe.Pointer)

// prefetch3 is prefetch of the three cache lines from p.
//
//go:noescape
func prefetch3(p unsafe.Pointer)
