// Package sample embeds a small real AIS log for the demo: 221 lines of
// exactEarth satellite AIS with NMEA 4.10 tag blocks (amsa-code/risky,
// ais/src/test/resources/exact-earth-with-tag-block.txt, Apache-2.0; see
// ais/testdata/SOURCES.md and shared/data/ais/SOURCES.md).
package sample

import (
	"bytes"
	_ "embed"
	"io"
)

//go:embed exactearth_tagblock.nmea.gz
var tagblock []byte

// Name is how the sample is named in output.
const Name = "embedded:exactearth_tagblock.nmea"

// Open returns the sample, gzip-compressed (ais readers take gzip).
func Open() io.Reader { return bytes.NewReader(tagblock) }
