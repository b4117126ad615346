//go:build !amd64

package track

import "unsafe"

// prefetch does nothing where there is no prefetch instruction wrapper.
func prefetch(unsafe.Pointer) {}

// prefetch3 does nothing where there is no prefetch instruction wrapper.
func prefetch3(unsafe.Pointer) {}
