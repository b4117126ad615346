package ais

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
)

// TestSniff: a file's format from its first bytes, past comment and
// blank lines as the NMEA decoder skips them (B3: a log whose comment
// header ran past 512 bytes, as gpsd's sample does, was told neither NMEA
// nor CSV), bounded by SniffLimit; nothing consumed.
func TestSniff(t *testing.T) {
	comments := func(n int) string {
		var b strings.Builder
		for i := 0; b.Len() < n; i++ {
			b.WriteString("# a comment line of a receiver's log header, ........\n")
		}
		return b.String()
	}
	const sentence = "!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A\n"
	for _, c := range []struct {
		name, in string
		want     Format
	}{
		{"nmea", sentence, FormatNMEA},
		{"tag block", "\\c:1700000000*5B\\" + sentence, FormatNMEA},
		{"747 bytes of comments", comments(747) + sentence, FormatNMEA},
		{"comments and blank lines", "\n#\n  \r\n# x\n\t" + sentence, FormatNMEA},
		{"40 KiB of comments", comments(40<<10) + sentence, FormatNMEA},
		{"comments past the limit", comments(SniffLimit+100) + sentence, FormatUnknown},
		{"no end of line", "# x\n!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A", FormatNMEA},
		{"a timestamp field first", "1700000000.1 !AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A\n", FormatNMEA},
		{"marinecadastre", "MMSI,BaseDateTime,LAT,LON\n1,2,3,4\n", FormatCSV},
		{"dma", "\ufeff# Timestamp,Type of mobile,MMSI\n", FormatCSV},
		{"text", "# header\nhello, world\n" + sentence, FormatUnknown},
		{"comments only", comments(2000), FormatUnknown},
		{"empty", "", FormatNMEA},
	} {
		br := bufio.NewReaderSize(strings.NewReader(c.in), 64<<10)
		if got := Sniff(br); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
		if rest, _ := io.ReadAll(br); string(rest) != c.in {
			t.Errorf("%s: sniffing consumed the input", c.name)
		}
	}
	f, err := os.ReadFile("/work/shared/data/ais/gpsd_sample.aivdm") // 747 bytes of comments first
	if err != nil {
		t.Skip("gpsd's sample:", err)
	}
	if got := Sniff(bufio.NewReaderSize(bytes.NewReader(f), 64<<10)); got != FormatNMEA {
		t.Errorf("gpsd_sample.aivdm: %v", got)
	}
}
