package casefile

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
)

// Problem is something wrong with a package, with the file it is in.
type Problem struct {
	File    string `json:"file"`
	Problem string `json:"problem"`
}

func (p Problem) String() string { return p.File + ": " + p.Problem }

// problemUnsigned is the problem of a sealed package no one signed yet.
const problemUnsigned = "no signature"

// SignatureCheck is what verifying one signature found.
type SignatureCheck struct {
	KeyID        string `json:"keyid"`
	Name         string `json:"name,omitempty"`
	Organization string `json:"organization,omitempty"`
	SignedAt     string `json:"signed_at,omitempty"`
	// Valid: the signature checks against the key (given, or carried by
	// the package). Trusted: the key is one of those given.
	Valid   bool `json:"valid"`
	Trusted bool `json:"trusted"`
}

// Report is what verifying a package found.
type Report struct {
	Files      int              `json:"files"`
	Bytes      int64            `json:"bytes"`
	Problems   []Problem        `json:"problems"`
	Signatures []SignatureCheck `json:"signatures"`
	// StatementSHA256 identifies the package's content.
	StatementSHA256 string `json:"statement_sha256,omitempty"`
	// Trusted is set when trusted keys were given: at least one of them
	// signed.
	Trusted bool `json:"trusted"`
	// KeysGiven: trusted keys were given to check against.
	KeysGiven bool `json:"keys_given"`
}

// Intact says every hash and every signature checked: nothing in the
// package changed since it was signed (whoever signed it).
func (r Report) Intact() bool { return len(r.Problems) == 0 }

// OK says the package is intact and, when trusted keys were given, one
// of them signed it.
func (r Report) OK() bool { return r.Intact() && (!r.KeysGiven || r.Trusted) }

// Verify checks a package offline: bagit.txt; every payload file against
// the payload manifest and every tag file against the tag manifest (no
// file missing, none unlisted); the statement names every file with its
// SHA-256; every signature in the envelope verifies against its key (the
// trusted keys given, else the one the package carries in signers.json),
// and every signer's claim (who, when) against the same key. Each
// problem names the file it is in.
func Verify(b *Bag, trusted []ed25519.PublicKey) Report {
	r := Report{Files: len(b.Paths()), Bytes: b.Size(), Problems: []Problem{}, Signatures: []SignatureCheck{}, KeysGiven: len(trusted) > 0}
	bad := func(file, format string, a ...any) {
		r.Problems = append(r.Problems, Problem{File: file, Problem: fmt.Sprintf(format, a...)})
	}
	sums := map[string]string{}
	sumOf := func(p string) string { // each file hashed once
		if s, ok := sums[p]; ok {
			return s
		}
		s := b.sha256Of(p)
		sums[p] = hex.EncodeToString(s[:])
		return sums[p]
	}
	// bagit.txt
	if d, ok := b.files[BagItFile]; !ok {
		bad(BagItFile, "missing: not a BagIt bag")
	} else if string(d) != bagitText {
		bad(BagItFile, "not %q", bagitText)
	}
	// The payload manifest: every listed file present and matching,
	// every payload file listed once.
	listed := map[string]bool{}
	checkManifest := func(name string, inScope func(string) bool) {
		data, ok := b.files[name]
		if !ok {
			bad(name, "missing")
			return
		}
		entries, malformed := parseManifest(data)
		for _, m := range malformed {
			bad(name, "%s", m)
		}
		seen := map[string]bool{}
		for _, e := range entries {
			if seen[e.path] {
				bad(name, "line %d: %s listed twice", e.line, e.path)
				continue
			}
			seen[e.path] = true
			listed[e.path] = true
			if !inScope(e.path) {
				bad(name, "line %d: %s does not belong in this manifest", e.line, e.path)
				continue
			}
			if !b.has(e.path) {
				bad(name, "line %d: %s is listed but not in the package (removed?)", e.line, e.path)
				continue
			}
			if got := sumOf(e.path); got != e.sum {
				bad(e.path, "SHA-256 %s, the %s says %s: the file was changed", got, name, e.sum)
			}
		}
		for _, p := range b.Paths() {
			if inScope(p) && !seen[p] {
				if name == ManifestFile {
					bad(p, "not in %s (added?)", name)
				}
			}
		}
	}
	checkManifest(ManifestFile, func(p string) bool { return strings.HasPrefix(p, "data/") })
	checkManifest(TagManifestFile, func(p string) bool {
		return !strings.HasPrefix(p, "data/") && p != TagManifestFile && p != EnvelopeFile && p != SignersFile
	})
	for _, must := range []string{BagItFile, BagInfoFile, ManifestFile} {
		if _, ok := b.files[must]; ok && !listed[must] {
			bad(TagManifestFile, "does not list %s", must)
		}
	}
	for _, p := range b.Paths() {
		if !strings.HasPrefix(p, "data/") && !listed[p] && p != TagManifestFile && p != EnvelopeFile && p != SignersFile {
			bad(p, "an unexpected file: in no manifest (added?)")
		}
	}
	// bag-info.txt
	if d, ok := b.files[BagInfoFile]; !ok {
		bad(BagInfoFile, "missing")
	} else {
		fields, malformed := parseInfo(d)
		for _, m := range malformed {
			bad(BagInfoFile, "%s", m)
		}
		for _, f := range fields {
			if strings.EqualFold(f.Label, "Payload-Oxum") && f.Value != b.oxum() {
				bad(BagInfoFile, "Payload-Oxum %s, the payload holds %s (octets.files)", f.Value, b.oxum())
			}
		}
	}
	// The envelope and the statement.
	envData, ok := b.files[EnvelopeFile]
	if !ok {
		bad(EnvelopeFile, "missing: the package is not sealed (no statement, no signature)")
		return r
	}
	env, err := readEnvelope(envData)
	if err != nil {
		bad(EnvelopeFile, "%v", err)
		return r
	}
	st, stSum, err := b.Statement()
	if err != nil {
		bad(EnvelopeFile, "%v", err)
		return r
	}
	r.StatementSHA256 = stSum
	if st.Type != StatementType || st.PredicateType != PredicateType {
		bad(EnvelopeFile, "statement type %q / predicate type %q: not a Tidewatch case statement", st.Type, st.PredicateType)
	}
	named := map[string]bool{}
	for _, s := range st.Subject {
		if named[s.Name] {
			bad(EnvelopeFile, "the statement names %s twice", s.Name)
			continue
		}
		named[s.Name] = true
		if !b.has(s.Name) {
			bad(EnvelopeFile, "the statement names %s, which is not in the package (removed?)", s.Name)
			continue
		}
		if got := sumOf(s.Name); got != s.Digest.SHA256 {
			bad(s.Name, "SHA-256 %s, the signed statement says %s: the file was changed after signing", got, s.Digest.SHA256)
		}
	}
	for _, p := range b.Paths() {
		if !named[p] && p != EnvelopeFile && p != SignersFile {
			bad(p, "not named by the signed statement (added after signing?)")
		}
	}
	// Signatures: each against the trusted key with its id, else the key
	// the package carries for it.
	signers, serr := readSigners(b.files[SignersFile])
	if serr != nil {
		bad(SignersFile, "%v", serr)
	}
	carried := map[string]Signer{}
	for _, s := range signers {
		carried[s.KeyID] = s
	}
	trust := map[string]ed25519.PublicKey{}
	for _, k := range trusted {
		trust[KeyID(k)] = k
	}
	payload, _ := base64.StdEncoding.DecodeString(env.Payload)
	pae := PAE(env.PayloadType, payload)
	if len(env.Signatures) == 0 {
		bad(EnvelopeFile, problemUnsigned)
	}
	sigIDs := map[string]bool{}
	badKey := map[string]bool{}
	for i, sg := range env.Signatures {
		c := SignatureCheck{KeyID: sg.KeyID}
		if sigIDs[sg.KeyID] {
			bad(EnvelopeFile, "signature %d: key %.16s signed twice", i+1, sg.KeyID)
		}
		sigIDs[sg.KeyID] = true
		sig, err := base64.StdEncoding.Strict().DecodeString(sg.Sig)
		if err != nil || len(sig) != ed25519.SignatureSize {
			bad(EnvelopeFile, "signature %d: not a base64 Ed25519 signature", i+1)
			r.Signatures = append(r.Signatures, c)
			continue
		}
		key, isTrusted := trust[sg.KeyID]
		sgn, has := carried[sg.KeyID]
		if has {
			c.Name, c.Organization, c.SignedAt = sgn.Name, sgn.Organization, sgn.SignedAt.UTC().Format("2006-01-02T15:04:05Z")
		}
		if !isTrusted {
			if !has {
				bad(EnvelopeFile, "signature %d: key %.16s is neither given nor carried in %s", i+1, sg.KeyID, SignersFile)
				r.Signatures = append(r.Signatures, c)
				continue
			}
			pk, err := base64.StdEncoding.Strict().DecodeString(sgn.PublicKey)
			if err != nil || len(pk) != ed25519.PublicKeySize || KeyID(pk) != sg.KeyID {
				badKey[sg.KeyID] = true
				bad(SignersFile, "the key carried for %.16s is not the key with that id", sg.KeyID)
				r.Signatures = append(r.Signatures, c)
				continue
			}
			key = pk
		}
		c.Trusted = isTrusted
		c.Valid = ed25519.Verify(key, pae, sig)
		if !c.Valid {
			bad(EnvelopeFile, "signature %d (key %.16s) does not verify: the statement or the signature was changed", i+1, sg.KeyID)
		}
		if c.Trusted && c.Valid {
			r.Trusted = true
		}
		r.Signatures = append(r.Signatures, c)
	}
	// Signers' claims.
	for _, s := range signers {
		if !sigIDs[s.KeyID] {
			bad(SignersFile, "signer %q (key %.16s) has no signature in the envelope", s.Name, s.KeyID)
			continue
		}
		pk, err := base64.StdEncoding.Strict().DecodeString(s.PublicKey)
		if err != nil || len(pk) != ed25519.PublicKeySize || KeyID(pk) != s.KeyID {
			if !badKey[s.KeyID] {
				bad(SignersFile, "the key carried for %.16s is not the key with that id", s.KeyID)
			}
			continue
		}
		cs, err := base64.StdEncoding.Strict().DecodeString(s.ClaimSig)
		if err != nil || !ed25519.Verify(pk, PAE(signerClaimType, s.claim(stSum)), cs) {
			bad(SignersFile, "the claim of signer %q (key %.16s: who, when) does not verify: it was changed", s.Name, s.KeyID)
		}
	}
	sort.SliceStable(r.Problems, func(i, j int) bool { return r.Problems[i].File < r.Problems[j].File })
	return r
}

// ProblemFiles lists the files a report's problems are in.
func (r Report) ProblemFiles() []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range r.Problems {
		if !seen[p.File] {
			seen[p.File] = true
			out = append(out, p.File)
		}
	}
	return out
}
