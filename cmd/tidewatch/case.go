package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/casefile"
	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/internal/termtext"
	"github.com/tidewatch/tidewatch/store"
	"github.com/tidewatch/tidewatch/store/postgres"
	"github.com/tidewatch/tidewatch/store/sqlite"
)

var caseCommands = []command{
	{"export", "package the evidence about a vessel, signed: raw AIS, list records, events, configuration, profile, report", runCaseExport},
	{"verify", "check a package offline: every file's SHA-256, every signature (no store needed)", runCaseVerify},
	{"replay", "derive a package's events and profile again from its own AIS, lists and configuration, and compare", runCaseReplay},
	{"sign", "add the tenant's signature to a package that verifies", runCaseSign},
	{"import", "record a package received (with who signed it and when) for the tenant's reports", runCaseImport},
	{"list", "the case files the tenant imported", runCaseList},
}

func runCase(e *env, args []string) error {
	return group{name: "case", commands: caseCommands, intro: `Usage: tidewatch case COMMAND [flags] [arguments]

Case files let an insurer, a government and a panel hand each other the
evidence about a ship and check it offline. A case file is a BagIt bag
(RFC 8493: a directory or a .zip): the raw AIS lines behind the events as
received, the sanctions list records in force, the configuration, the
events and risk profile derived from exactly those lines, and the
report; an in-toto statement names every file by SHA-256 and each party
signs it (DSSE, Ed25519). 'tidewatch keys signing' manages the keys.
docs/cases.md describes the format and how to check one with standard
tools.

Commands:
`}.run(e, args)
}

// scratchStore is an empty SQLite store in a temporary directory,
// removed when closed: case files derive their events in one.
func scratchStore() (app.ScratchStore, error) {
	dir, err := os.MkdirTemp("", "tidewatch-scratch-")
	if err != nil {
		return nil, err
	}
	st, err := sqlite.OpenWith(filepath.Join(dir, "scratch.db"), sqlite.Options{Create: true})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return &scratchDB{DB: st, dir: dir}, nil
}

type scratchDB struct {
	*sqlite.DB
	dir string
}

func (s *scratchDB) Close() error {
	err := s.DB.Close()
	os.RemoveAll(s.dir)
	return err
}

// caseFlags are what the commands acting for a tenant with its signing
// keys take: --store, --tenant, --by, --seal-key-file.
type caseFlags struct {
	sf       storeFlags
	uf       uploadFlags
	tenant   string
	by       string
	sealFile string
}

func (c *caseFlags) register(fs *flag.FlagSet, write bool) {
	c.sf.register(fs, write)
	fs.StringVar(&c.tenant, "tenant", app.LocalTenant, "the tenant acted for")
	fs.StringVar(&c.by, "by", userName(), "who acts (audit log, and the signer's name; default $TIDEWATCH_USER, $USER or the login name)")
	fs.StringVar(&c.sealFile, "seal-key-file", "", "the key that seals signing keys (default: the store's path + .key, as 'tidewatch serve' uses)")
}

func (c *caseFlags) open() (*app.Service, func(), app.Principal, error) {
	if strings.TrimSpace(c.by) == "" {
		// The name is signed into case files: never "unknown".
		return nil, nil, app.Principal{}, usagef("give --by NAME (or set TIDEWATCH_USER): who acts is recorded, and signed as the signer's name")
	}
	sealFile := c.sealFile
	if sealFile == "" && postgres.IsURL(c.sf.path) && os.Getenv("TIDEWATCH_SEAL_KEY") == "" {
		return nil, nil, app.Principal{}, usagef("with a PostgreSQL store give --seal-key-file or TIDEWATCH_SEAL_KEY (the key the servers seal with)")
	}
	if sealFile == "" {
		sealFile = c.sf.path + ".key"
	}
	seal, err := loadSealKey(sealFile)
	if err != nil {
		return nil, nil, app.Principal{}, err
	}
	cfg := app.Config{SealKey: seal, Scratch: scratchStore}
	if c.uf.keep { // registered: the command reads the upload archive
		c.uf.config(&cfg, c.sf.path)
	}
	s, st, err := c.sf.service(cfg)
	if err != nil {
		return nil, nil, app.Principal{}, err
	}
	p, err := tenantPrincipal(context.Background(), s, c.tenant, c.by)
	if err != nil {
		closeService(s, st)
		return nil, nil, p, err
	}
	return s, func() { closeService(s, st) }, p, nil
}

func runCaseExport(e *env, args []string) error {
	var cf caseFlags
	var from, to, out, keyID string
	var margin time.Duration
	var aisFiles multiFlag
	fs := newFlagSet(e, "case export", "tidewatch case export IMO|MMSI [--from DATE] [--to DATE] --out DIR|FILE.zip", `
Packages the evidence about a vessel over a period (default: the 12 months
to now) and signs it with the tenant's newest signing key: the raw AIS
lines of the vessel and the ships of its events (its period plus --margin
either side, cut byte for byte (NMEA lines, CSV rows with their header)
from the inputs the store's ingest runs recorded, checked to be the
content ingested; for files sent to the server, from the copies it kept
in --uploads; or from --ais files), the list records in force at the
period's end, the detector and risk configuration, the events and
profile derived from exactly those lines,
the report, and a cross-check with the store. An input that cannot be read
is stated in the package (and here), never left out silently: the package
is still written, and the command exits 1 saying what is missing. Inputs
are recorded by absolute path (--ais files, and files 'tidewatch ingest'
read); a store whose runs recorded relative paths is read from the
current directory.`)
	cf.register(fs, true)
	cf.uf.register(fs, false)
	fs.StringVar(&from, "from", "", "the period's start (default: 12 months before --to)")
	fs.StringVar(&to, "to", "", "the period's end (default: now)")
	fs.DurationVar(&margin, "margin", app.DefaultCaseMargin, "AIS kept before and after the period")
	fs.Var(&aisFiles, "ais", "a raw AIS input file to read instead of the recorded ones (repeatable)")
	fs.StringVar(&keyID, "key", "", "the signing key's id (default: the tenant's newest)")
	fs.StringVar(&out, "out", "", "the package: a new directory, or FILE.zip")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || out == "" {
		return usagef("give the vessel's IMO number or MMSI, and --out")
	}
	// The package records each input by the path read: absolute, so the
	// record means the same file wherever it is read from.
	var abs []string
	for _, f := range aisFiles {
		a, err := filepath.Abs(f)
		if err != nil {
			return err
		}
		abs = append(abs, a)
	}
	req := app.CaseExportRequest{Margin: margin, AIS: abs, KeyID: keyID}
	if req.Vessel, err = app.ParseVessel(pos[0]); err != nil {
		return usagef("%v", err)
	}
	for _, f := range []struct {
		v string
		t *time.Time
	}{{from, &req.From}, {to, &req.To}} {
		if f.v == "" {
			continue
		}
		if *f.t, err = app.ParseAsOf(f.v); err != nil {
			return usagef("%v", err)
		}
		if len(f.v) == 10 && f.t == &req.From {
			*f.t = f.t.Truncate(24 * time.Hour) // a day's start, as the API reads from=DATE
		}
	}
	if _, err := os.Stat(out); err == nil {
		return fmt.Errorf("%s exists: give a new path", out)
	}
	s, done, p, err := cf.open()
	if err != nil {
		return err
	}
	defer done()
	res, err := s.ExportCase(context.Background(), p, req)
	if err != nil {
		return err
	}
	if err := res.Bag.WriteFile(out, res.Summary.Predicate.Exported); err != nil {
		return err
	}
	pr := res.Summary.Predicate
	fmt.Fprintf(e.stdout, "case file %s: %s, %d files, %s bytes\n", out, pkgVessel(pr), len(res.Bag.Paths()), thousands(res.Bag.Size()))
	fmt.Fprintf(e.stdout, "  period %s to %s (AIS kept from %s before to %s after)\n", pr.From.Format(time.RFC3339), pr.To.Format(time.RFC3339), margin, margin)
	fmt.Fprintf(e.stdout, "  statement sha256 %s, signed by %s with key %.16s\n", res.Statement, p.Actor, res.KeyID)
	fmt.Fprintf(e.stdout, "  profile: %s (score %g), %d events derived from the package's own lines\n", pr.Recommendation, pr.Score, pr.Events)
	for _, in := range res.Summary.Inputs {
		switch {
		case in.Used:
			fmt.Fprintf(e.stdout, "  input %s: %d lines of %d messages kept -> %s (%s)\n", termtext.Safe(in.Name), in.Stats.KeptLines, in.Stats.Kept, in.File, in.Check)
		case in.Gap == "":
			fmt.Fprintf(e.stdout, "  input %s: nothing about these ships\n", termtext.Safe(in.Name))
		}
	}
	for _, g := range pr.Gaps {
		fmt.Fprintf(e.stderr, "  GAP: %s\n", termtext.Safe(g))
	}
	cc := res.CrossCheck
	fmt.Fprintf(e.stdout, "  cross-check with the store: %d stored events of the vessel in the period, %d not derived from the package, %d derived but not stored, %d different; store profile %s (score %g)\n",
		cc.StoreEvents, len(cc.MissingIDs), len(cc.ExtraIDs), len(cc.ChangedIDs), cc.StoreRecommendation, cc.StoreScore)
	if !pr.Complete {
		// Written, signed and stating its gaps, but not the whole evidence:
		// a script must not take it for a complete package.
		fmt.Fprintln(e.stderr, "  the package is INCOMPLETE: the gaps above are stated in it (data/case.json and the signed statement)")
		return fmt.Errorf("%s is incomplete: %d part(s) missing (%s)", out, len(pr.Gaps), termtext.Safe(strings.Join(pr.Gaps, "; ")))
	}
	return nil
}

func pkgVessel(pr casefile.Predicate) string {
	v := pr.Vessel
	var parts []string
	if v.Name != "" {
		parts = append(parts, termtext.Safe(v.Name))
	}
	if v.IMO != 0 {
		parts = append(parts, fmt.Sprintf("IMO %d", v.IMO))
	}
	for _, m := range v.MMSIs {
		parts = append(parts, fmt.Sprintf("MMSI %09d", m))
	}
	return strings.Join(parts, " ")
}

func thousands(n int64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// readKeys reads --key files: PEM public keys (or private key files,
// whose public half is taken), or raw base64.
func readKeys(paths []string) ([]ed25519.PublicKey, error) {
	var out []ed25519.PublicKey
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		k, err := app.ParsePublicKey(b)
		if err != nil {
			return nil, fmt.Errorf("--key %s: %v", p, err)
		}
		out = append(out, k)
	}
	return out, nil
}

func runCaseVerify(e *env, args []string) error {
	var keys multiFlag
	var asJSON bool
	fs := newFlagSet(e, "case verify", "tidewatch case verify FILE [--key PUB.pem ...] [--json]", `
Checks a package offline, with no store: bagit.txt; every payload file
against manifest-sha256.txt and every tag file against
tagmanifest-sha256.txt (nothing missing, nothing added); the signed
statement names every file with its SHA-256; every signature verifies, and
every signer's claim (who, when). With --key, the signatures by those keys
are trusted, and the package passes only if one of them signed it; without,
signatures are checked against the keys the package carries (integrity,
not identity). Each problem names the file it is in. Exit status 1 when a
problem is found.`)
	fs.Var(&keys, "key", "a trusted public key file (PEM, from 'tidewatch keys signing export --public'; repeatable)")
	fs.BoolVar(&asJSON, "json", false, "the report as JSON")
	pos, err := parseArgs(fs, args, 1, "give the package (a directory or a .zip)")
	if err != nil {
		return err
	}
	trusted, err := readKeys(keys)
	if err != nil {
		return usagef("%v", err)
	}
	bag, err := casefile.ReadFileWith(pos[0], casefile.ReadOptions{DigestPayload: true}) // payload hashed as read, not held
	if err != nil {
		return err
	}
	r := casefile.Verify(bag, trusted)
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		enc.Encode(r)
	} else {
		fmt.Fprintf(e.stdout, "%s: %d files, %s bytes", pos[0], r.Files, thousands(r.Bytes))
		if r.StatementSHA256 != "" {
			fmt.Fprintf(e.stdout, ", statement sha256 %s", r.StatementSHA256)
		}
		fmt.Fprintln(e.stdout)
		for _, sg := range r.Signatures {
			state := "INVALID"
			switch {
			case sg.Valid && sg.Trusted:
				state = "valid, trusted key"
			case sg.Valid:
				state = "valid (the package's own key: give --key to check who signed)"
			}
			fmt.Fprintf(e.stdout, "  signature %.16s by %s (%s) at %s: %s\n", sg.KeyID, termtext.Safe(sg.Name), termtext.Safe(sg.Organization), sg.SignedAt, state)
		}
		for _, pr := range r.Problems {
			fmt.Fprintf(e.stdout, "  PROBLEM in %s: %s\n", termtext.Safe(pr.File), termtext.Safe(pr.Problem))
		}
		switch {
		case r.OK():
			fmt.Fprintln(e.stdout, "verified: every hash and every signature checks")
		case r.Intact():
			fmt.Fprintln(e.stdout, "intact, but no signature by a trusted key (--key)")
		}
	}
	if !r.OK() {
		return fmt.Errorf("%s does not verify (%d problems)", pos[0], len(r.Problems))
	}
	return nil
}

func runCaseReplay(e *env, args []string) error {
	var asJSON bool
	fs := newFlagSet(e, "case replay", "tidewatch case replay FILE [--json]", `
Derives the package's events and profile again, with no store, from its own
raw AIS lines, list records and configuration (every detector, then the
profile as of the period's end), and compares them byte for byte with the
package's data/events.jsonl and data/profile.json: identical, or the events
missing, added or different (by id) and the profile's fields that differ.
The package must verify first. Exit status 1 when they differ.`)
	fs.BoolVar(&asJSON, "json", false, "the result as JSON")
	pos, err := parseArgs(fs, args, 1, "give the package (a directory or a .zip)")
	if err != nil {
		return err
	}
	bag, err := casefile.ReadFile(pos[0])
	if err != nil {
		return err
	}
	s := app.New(app.Config{Scratch: scratchStore})
	defer s.Close()
	r, err := s.ReplayCase(context.Background(), bag)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		enc.Encode(r)
	} else {
		fmt.Fprintf(e.stdout, "replayed %s (statement %.16s, made by %s) with %s: %d events derived\n", pos[0], r.Statement, r.PackageProgram, r.Program, r.Events)
		fmt.Fprintf(e.stdout, "  events: %s\n", map[bool]string{true: "identical, byte for byte", false: "DIFFERENT"}[r.EventsIdentical])
		for _, id := range r.MissingIDs {
			fmt.Fprintf(e.stdout, "    in the package, not derived again: %s\n", id)
		}
		for _, id := range r.ExtraIDs {
			fmt.Fprintf(e.stdout, "    derived again, not in the package: %s\n", id)
		}
		for _, id := range r.ChangedIDs {
			fmt.Fprintf(e.stdout, "    different: %s\n", id)
		}
		fmt.Fprintf(e.stdout, "  profile: %s\n", map[bool]string{true: "identical, byte for byte", false: "DIFFERENT in " + strings.Join(r.ProfileFields, ", ")}[r.ProfileIdentical])
		if !r.Identical() && r.PackageProgram != r.Program {
			fmt.Fprintln(e.stdout, "  note: another program version made the package; its detectors may differ")
		}
	}
	if !r.Identical() {
		return errors.New("the package's events or profile are not what its own inputs give")
	}
	return nil
}

// writeBack writes a changed package where it was read from.
func writeBack(bag *casefile.Bag, name string) error {
	fi, err := os.Stat(name)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return bag.WriteFile(name, time.Now())
	}
	for _, f := range []string{casefile.EnvelopeFile, casefile.SignersFile} {
		d, _ := bag.File(f)
		tmp := filepath.Join(name, f+".tmp")
		if err := os.WriteFile(tmp, d, 0o644); err != nil {
			return err
		}
		if err := os.Rename(tmp, filepath.Join(name, f)); err != nil {
			return err
		}
	}
	return nil
}

func runCaseSign(e *env, args []string) error {
	var cf caseFlags
	var keyID string
	fs := newFlagSet(e, "case sign", "tidewatch case sign FILE [--key ID] [--tenant T] [--by NAME]", `
Adds the tenant's signature to a package that verifies (a party signs only
what it checked): a DSSE signature of the statement with the tenant's
signing key, and the signer's claim (--by, the tenant's name, now) signed
with the same key. The package is rewritten in place.`)
	cf.register(fs, true)
	fs.StringVar(&keyID, "key", "", "the signing key's id (default: the tenant's newest)")
	pos, err := parseArgs(fs, args, 1, "give the package (a directory or a .zip)")
	if err != nil {
		return err
	}
	bag, err := casefile.ReadFile(pos[0])
	if err != nil {
		return err
	}
	s, done, p, err := cf.open()
	if err != nil {
		return err
	}
	defer done()
	k, err := s.SignCase(context.Background(), p, bag, keyID)
	if err != nil {
		return err
	}
	if err := writeBack(bag, pos[0]); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "signed %s as %s (%s) with key %.16s; %d signatures\n", pos[0], p.Actor, p.Tenant, k.ID, len(casefile.Verify(bag, nil).Signatures))
	return nil
}

func runCaseImport(e *env, args []string) error {
	var cf caseFlags
	var keys multiFlag
	var load bool
	fs := newFlagSet(e, "case import", "tidewatch case import FILE [--key PUB.pem ...] [--ingest] [--tenant T]", `
Records a package the tenant received, after checking it (every hash and
signature; a package that does not verify is refused): who made it, who
signed it and when, with which keys (trusted: given with --key, or the
tenant's own), its profile and events. The tenant's reports of the vessel
show it. --ingest also loads its raw AIS into the store (the operator only:
AIS is shared by every tenant).`)
	cf.register(fs, true)
	fs.Var(&keys, "key", "a trusted public key file (repeatable)")
	fs.BoolVar(&load, "ingest", false, "also load the package's AIS into the store")
	pos, err := parseArgs(fs, args, 1, "give the package (a directory or a .zip)")
	if err != nil {
		return err
	}
	trusted, err := readKeys(keys)
	if err != nil {
		return usagef("%v", err)
	}
	bag, err := casefile.ReadFile(pos[0])
	if err != nil {
		return err
	}
	s, done, p, err := cf.open()
	if err != nil {
		return err
	}
	defer done()
	c, err := s.ImportCase(context.Background(), p, app.CaseImportRequest{Bag: bag, Trusted: trusted, Ingest: load})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "imported case %.16s for tenant %s: %s from %s to %s, made by %s, %d events, profile %s\n", c.ID, p.Tenant, caseVessel(c.IMO, c.MMSI, c.Name),
		c.From.Format(time.DateOnly), c.To.Format(time.DateOnly), termtext.Safe(c.ExportedBy), len(c.Events), c.Recommendation)
	for _, sg := range c.Signers {
		fmt.Fprintf(e.stdout, "  signed by %s (%s) at %s, key %.16s: valid %v, trusted %v\n", termtext.Safe(sg.Name), termtext.Safe(sg.Organization), sg.SignedAt.Format(time.RFC3339), sg.KeyID, sg.Valid, sg.Trusted)
	}
	if c.Ingested != "" {
		fmt.Fprintf(e.stdout, "  its AIS loaded into the store as ingest run %s\n", c.Ingested)
	}
	return nil
}

func caseVessel(imo, mmsi uint32, name string) string {
	s := termtext.Safe(name)
	if imo != 0 {
		s += fmt.Sprintf(" IMO %d", imo)
	}
	if mmsi != 0 {
		s += fmt.Sprintf(" MMSI %09d", mmsi)
	}
	return strings.TrimSpace(s)
}

func runCaseList(e *env, args []string) error {
	var cf caseFlags
	fs := newFlagSet(e, "case list", "tidewatch case list [IMO|MMSI] [--tenant T]", "Lists the case files the tenant imported (about one vessel, or all).")
	cf.register(fs, false)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	s, done, p, err := cf.open()
	if err != nil {
		return err
	}
	defer done()
	var vq store.VesselQuery
	if len(pos) == 1 {
		if vq, err = app.ParseVessel(pos[0]); err != nil {
			return usagef("%v", err)
		}
	}
	cs, err := s.ImportedCases(context.Background(), p, vq)
	if err != nil {
		return err
	}
	for _, c := range cs {
		fmt.Fprintf(e.stdout, "%.16s  %s  %s to %s  made by %s  %d signatures  imported %s by %s\n", c.ID, caseVessel(c.IMO, c.MMSI, c.Name), c.From.Format(time.DateOnly),
			c.To.Format(time.DateOnly), termtext.Safe(c.ExportedBy), len(c.Signers), c.Imported.Format(time.DateOnly), termtext.Safe(c.ImportedBy))
	}
	fmt.Fprintf(e.stdout, "%d case files\n", len(cs))
	return nil
}
