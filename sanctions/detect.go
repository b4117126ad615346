package sanctions

import (
	"bytes"
	"encoding/csv"
	"path"
	"strings"
)

// Format is a file layout the parsers know, detected from content.
type Format string

const (
	FormatUnknown       Format = ""
	FormatUNXML         Format = "un-xml"
	FormatOFACXML       Format = "ofac-xml"
	FormatOFACMain      Format = "ofac-csv"          // SDN.CSV / CONS_PRIM.CSV
	FormatOFACAdd       Format = "ofac-csv-add"      // ADD.CSV / CONS_ADD.CSV
	FormatOFACAlt       Format = "ofac-csv-alt"      // ALT.CSV / CONS_ALT.CSV
	FormatOFACComments  Format = "ofac-csv-comments" // SDN_COMMENTS.CSV / CONS_COMMENTS.CSV
	FormatUKSubjects    Format = "uk-derived-subjects"
	FormatUKNames       Format = "uk-derived-names"
	FormatUKIdentifiers Format = "uk-derived-identifiers"
	FormatUKDOBs        Format = "uk-derived-dobs"
	FormatEUJournal     Format = "eu-journal-csv"
	FormatFtM           Format = "ftm-json"
)

// sniffBytes is how much of a file detection reads.
const sniffBytes = 64 << 10

// Detect names a file's format from its first bytes. The name is used only
// where content cannot decide: OFAC's SDN and consolidated (non-SDN) sets
// share one layout, and a file name containing "cons" or "nonsdn" is taken
// as the consolidated list.
func Detect(name string, head []byte) Format {
	h := bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")), " \t\r\n")
	switch {
	case bytes.HasPrefix(h, []byte("<")):
		switch {
		case bytes.Contains(h, []byte("<CONSOLIDATED_LIST")):
			return FormatUNXML
		case bytes.Contains(h, []byte("<sdnList")):
			return FormatOFACXML
		}
		return FormatUnknown
	case bytes.HasPrefix(h, []byte("{")):
		if bytes.Contains(h, []byte(`"schema"`)) {
			return FormatFtM
		}
		return FormatUnknown
	}
	firstLine := h
	if i := bytes.IndexByte(h, '\n'); i >= 0 {
		firstLine = h[:i]
	}
	fl := string(bytes.TrimSpace(firstLine))
	switch {
	case strings.HasPrefix(fl, "unique_id,subject_type"):
		return FormatUKSubjects
	case strings.HasPrefix(fl, "name_id,unique_id,name_type"):
		return FormatUKNames
	case strings.HasPrefix(fl, "id,unique_id,ofsi_group_id,raw_value"):
		return FormatUKIdentifiers
	case strings.HasPrefix(fl, "dob_id,unique_id"):
		return FormatUKDOBs
	case strings.HasPrefix(fl, "celex,recordId,programKey"):
		return FormatEUJournal
	}
	// OFAC legacy CSV: no header, a numeric ent_num first, and a column
	// count that says which table it is.
	cr := csv.NewReader(bytes.NewReader(h))
	cr.FieldsPerRecord = -1
	rec, err := cr.Read()
	if err != nil || len(rec) == 0 || rec[0] == "" || strings.Trim(rec[0], "0123456789") != "" {
		return FormatUnknown
	}
	switch len(rec) {
	case 12:
		return FormatOFACMain
	case 6:
		return FormatOFACAdd
	case 5:
		return FormatOFACAlt
	case 2:
		return FormatOFACComments
	}
	return FormatUnknown
}

// ofacListFromName tells the consolidated non-SDN list from the SDN list
// by file name, the one thing their content does not say.
func ofacListFromName(name string) string {
	b := strings.ToLower(path.Base(name))
	if strings.Contains(b, "cons") || strings.Contains(b, "nonsdn") || strings.Contains(b, "non_sdn") {
		return "ofac-cons"
	}
	return "ofac-sdn"
}
