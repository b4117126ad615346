package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/internal/termtext"
)

var signingCommands = []command{
	{"create", "make a signing key for the tenant's case files", runSigningCreate},
	{"list", "the tenant's signing keys (public halves)", runSigningList},
	{"export", "write a key's public half (--public) or private half (mode 0600) to a file", runSigningExport},
}

func runKeysSigning(e *env, args []string) error {
	return group{name: "keys signing", commands: signingCommands, intro: `Usage: tidewatch keys signing COMMAND [flags] [arguments]

Ed25519 keys a tenant signs case files with ('tidewatch case'). The private
half is kept in the store sealed with the installation's seal key (the
store's path + .key, as 'tidewatch serve' uses) and is never printed; an
admin may export it to a file (mode 0600). The public half is publishable:
give it to those who verify your case files ('tidewatch case verify --key').

Commands:
`}.run(e, args)
}

func runSigningCreate(e *env, args []string) error {
	var cf caseFlags
	var name string
	fs := newFlagSet(e, "keys signing create", "tidewatch keys signing create --name NAME [--tenant T]", "Makes a signing key for the tenant (its newest signs from now on).")
	cf.register(fs, true)
	fs.StringVar(&name, "name", "", "who signs with it (a person, a desk)")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	s, done, p, err := cf.open()
	if err != nil {
		return err
	}
	defer done()
	k, err := s.CreateSigningKey(context.Background(), p, name)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "signing key %s (%s) for tenant %s\n%s", k.ID, termtext.Safe(k.Name), k.Tenant, k.PublicKeyPEM)
	return nil
}

func runSigningList(e *env, args []string) error {
	var cf caseFlags
	var asJSON bool
	fs := newFlagSet(e, "keys signing list", "tidewatch keys signing list [--tenant T] [--json]", "Lists the tenant's signing keys: id, name, created, and the public key.")
	cf.register(fs, false)
	fs.BoolVar(&asJSON, "json", false, "JSON output (with each key in PEM)")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	s, done, p, err := cf.open()
	if err != nil {
		return err
	}
	defer done()
	ks, err := s.SigningKeys(context.Background(), p)
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(e.stdout).Encode(ks)
	}
	for _, k := range ks {
		fmt.Fprintf(e.stdout, "%s  %-24s created %s by %s  public %s\n", k.ID, termtext.Safe(k.Name), k.Created.Format("2006-01-02"), termtext.Safe(k.CreatedBy), k.PublicKey)
	}
	fmt.Fprintf(e.stdout, "%d signing keys\n", len(ks))
	return nil
}

func runSigningExport(e *env, args []string) error {
	var cf caseFlags
	var out string
	var public bool
	fs := newFlagSet(e, "keys signing export", "tidewatch keys signing export ID --out FILE [--public]", `
Writes a signing key to a file: with --public its public half (PEM, to
publish); without, its private half (PKCS #8 PEM, mode 0600; admins only,
recorded in the audit log). The key is never printed.`)
	cf.register(fs, false)
	fs.StringVar(&out, "out", "", "the file to write (must not exist)")
	fs.BoolVar(&public, "public", false, "write the public half only")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || out == "" {
		return usagef("give the key's id and --out FILE")
	}
	s, done, p, err := cf.open()
	if err != nil {
		return err
	}
	defer done()
	ctx := context.Background()
	var data []byte
	mode := os.FileMode(0o600)
	if public {
		ks, err := s.SigningKeys(ctx, p)
		if err != nil {
			return err
		}
		for _, k := range ks {
			if len(pos[0]) >= 8 && len(k.ID) >= len(pos[0]) && k.ID[:len(pos[0])] == pos[0] {
				data = []byte(k.PublicKeyPEM)
			}
		}
		if data == nil {
			return fmt.Errorf("no signing key %q in tenant %s", pos[0], p.Tenant)
		}
		mode = 0o644
	} else {
		priv, _, err := s.ExportSigningKey(ctx, p, pos[0])
		if err != nil {
			return err
		}
		data = privateKeyPEM(priv)
	}
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	what := "private"
	if public {
		what = "public"
	}
	fmt.Fprintf(e.stdout, "%s key %s written to %s (mode %o)\n", what, pos[0], out, mode)
	return nil
}

var privateKeyPEM = app.PrivateKeyPEM
