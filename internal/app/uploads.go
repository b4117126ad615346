package app

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"regexp"

	"github.com/tidewatch/tidewatch/store"
)

// UploadArchive keeps the bytes of AIS files received through the API,
// content-addressed by their SHA-256, where case files find them
// (package uploadarchive: a folder; docs/cases.md says where and why).
type UploadArchive interface {
	// Keep stores the bytes r gives under sum (their hex SHA-256) unless
	// they are kept already, checking them against sum, and returns the
	// bytes the kept copy takes on disk.
	Keep(ctx context.Context, sum string, r io.Reader) (stored int64, err error)
	// Open returns the bytes kept under sum as received (an error
	// wrapping fs.ErrNotExist when none are).
	Open(ctx context.Context, sum string) (io.ReadCloser, error)
	// Find returns the sums kept that start with a hex prefix.
	Find(ctx context.Context, prefix string) ([]string, error)
}

// Upload is an AIS file received through the API, to keep (Ingest keeps
// it before reading it, Config.Uploads).
type Upload struct {
	// Input is the name of the ingest input reading it (UploadInputName).
	Input string
	// SHA256 is the hex SHA-256 of its bytes as received.
	SHA256 string
	Size   int64
	Open   func() (io.ReadCloser, error)
}

// UploadKept says what became of an upload's bytes.
type UploadKept struct {
	Input  string `json:"input"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	// Stored is the bytes the kept copy takes (gzip-compressed unless it
	// arrived so); zero with NotKept set when it was not kept.
	Stored  int64  `json:"stored,omitempty"`
	NotKept string `json:"not_kept,omitempty"`
}

// UploadInputName names the ingest input of an uploaded file: the name
// its sender gave and the start of its SHA-256 (what ingest runs, the
// store and case files record).
func UploadInputName(name, sum string) string {
	if len(sum) > 16 {
		sum = sum[:16]
	}
	return "upload " + name + " sha256:" + sum
}

var uploadInput = regexp.MustCompile(`^upload (.+) sha256:([0-9a-f]{16})$`)

// parseUploadInput returns the sender's name and the SHA-256 prefix of an
// input named by UploadInputName.
func parseUploadInput(input string) (name, prefix string, ok bool) {
	m := uploadInput.FindStringSubmatch(input)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

// keepUploads keeps the uploads' bytes in the archive. A file that cannot
// be kept is still ingested: why is recorded (and logged), and a case
// file states the gap.
func (s *Service) keepUploads(ctx context.Context, ups []Upload) []UploadKept {
	var out []UploadKept
	for _, u := range ups {
		k := UploadKept{Input: u.Input, SHA256: u.SHA256, Size: u.Size}
		switch {
		case s.uploads == nil:
			k.NotKept = s.uploadsOff
			if k.NotKept == "" {
				k.NotKept = "the server keeps no uploads (no upload archive configured)"
			}
		default:
			n, err := s.keepUpload(ctx, u)
			if err != nil {
				s.log.Warn("keep an upload", "input", u.Input, "err", err.Error())
				k.NotKept = "the server could not keep its bytes (its log says why)"
			}
			k.Stored = n
		}
		out = append(out, k)
	}
	return out
}

func (s *Service) keepUpload(ctx context.Context, u Upload) (int64, error) {
	rc, err := u.Open()
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	return s.uploads.Keep(ctx, u.SHA256, rc)
}

// uploadRecords adds to an ingest run's input records what became of its
// uploads.
func uploadRecords(rs []store.InputRecord, kept []UploadKept) {
	for i := range rs {
		for _, k := range kept {
			if k.Input != rs[i].Name {
				continue
			}
			if k.NotKept != "" {
				rs[i].NotKept = k.NotKept
			} else {
				rs[i].Kept = k.SHA256
			}
		}
	}
}

// readUpload reads the kept copy of an uploaded input (its SHA-256 prefix
// from its name, recs the input's records): the bytes as received, checked
// against their SHA-256, or why there are none (a case file's gap). The
// gap never names the archive's folder: the package goes to others.
func (s *Service) readUpload(ctx context.Context, prefix string, recs []store.InputRecord) (raw []byte, kept bool, gap string) {
	sum, notKept := "", ""
	for _, r := range recs {
		if r.Kept != "" {
			sum = r.Kept
		}
		if r.NotKept != "" {
			notKept = r.NotKept
		}
	}
	if s.uploads == nil {
		if notKept != "" {
			return nil, false, "a file received through the API whose bytes the server did not keep (" + notKept + "): its lines are not in this package"
		}
		why := s.uploadsOff
		if why == "" {
			why = "no upload archive configured"
		}
		return nil, false, "a file received through the API: this export reads no upload archive (" + why + "), so its lines are not in this package"
	}
	if sum == "" {
		found, err := s.uploads.Find(ctx, prefix)
		if err != nil {
			s.log.Warn("upload archive", "err", err.Error())
			return nil, false, "a file received through the API: the upload archive could not be read at export (the exporter's log says why), so its lines are not in this package"
		}
		switch {
		case len(found) == 1:
			sum = found[0]
		case len(found) > 1:
			return nil, false, "a file received through the API: several kept files start with its SHA-256 prefix, so its lines are not in this package"
		case notKept != "":
			return nil, false, "a file received through the API whose bytes the server did not keep (" + notKept + "): its lines are not in this package"
		default:
			return nil, false, "a file received through the API with no kept copy in the upload archive (received before Tidewatch kept uploads, by a server that did not keep them, or deleted since): its lines are not in this package"
		}
	}
	rc, err := s.uploads.Open(ctx, sum)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, "a file received through the API whose kept copy is missing from the upload archive (deleted, or the store moved without its upload folder): its lines are not in this package"
	}
	if err != nil {
		s.log.Warn("upload archive", "sha256", sum, "err", err.Error())
		return nil, false, "a file received through the API whose kept copy could not be read at export (the exporter's log says why): its lines are not in this package"
	}
	defer rc.Close()
	raw, err = io.ReadAll(io.LimitReader(rc, 8<<30+1))
	if err == nil && len(raw) > 8<<30 {
		err = errors.New("larger than 8 GiB")
	}
	if err != nil {
		s.log.Warn("upload archive", "sha256", sum, "err", err.Error())
		return nil, false, "a file received through the API whose kept copy could not be read at export (the exporter's log says why): its lines are not in this package"
	}
	if hashOf(raw) != sum {
		return nil, false, "a file received through the API whose kept copy does not match its SHA-256 (damaged or replaced since): not used"
	}
	return raw, true, ""
}
