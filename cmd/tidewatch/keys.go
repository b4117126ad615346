package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/internal/termtext"
	"github.com/tidewatch/tidewatch/store"
)

var keysCommands = []command{
	{"create", "make an API key for a tenant (the key is shown once)", runKeysCreate},
	{"list", "list a tenant's API keys (never their secrets)", runKeysList},
	{"revoke", "revoke an API key at once", runKeysRevoke},
	{"tenant", "create a tenant (an insurer, broker or government unit) or list them", runKeysTenant},
	{"user", "add, list, disable or enable the people who sign in to the web interface", runKeysUser},
	{"signing", "signing keys for case files: create, list, export", runKeysSigning},
}

func runKeys(e *env, args []string) error {
	return group{name: "keys", commands: keysCommands, intro: `Usage: tidewatch keys COMMAND [flags] [arguments]

API keys let programs and people use 'tidewatch serve'. Each key belongs to
a tenant (an insurer, a broker, a government unit: one never sees another's
decisions, profiles, screenings or audit log) and has a role: viewer
(screen, profiles, reports, events, lists), analyst (also ingest and list
imports in the operator tenant), underwriter (also decisions) or admin
(also keys, users and policy). A key is shown once when made and stored
only as a hash; it expires (default 90 days) and can be revoked. The local
tenant ("local") is the operator: the installation's own.

Commands:
`}.run(e, args)
}

// tenantPrincipal is the CLI acting as an admin of a tenant (the local
// user runs the installation).
func tenantPrincipal(ctx context.Context, s *app.Service, tenant, by string) (app.Principal, error) {
	p := localPrincipal(by)
	if tenant == "" || tenant == app.LocalTenant {
		return p, nil
	}
	ts, err := s.Tenants(ctx, p)
	if err != nil {
		return p, err
	}
	for _, t := range ts {
		if t.ID == tenant {
			return app.Principal{Tenant: t.ID, Actor: by, Role: app.RoleAdmin, Operator: t.Operator, Console: true}, nil
		}
	}
	return p, fmt.Errorf("no tenant %q (create it with 'tidewatch keys tenant create %s')", tenant, tenant)
}

func runKeysCreate(e *env, args []string) error {
	var sf storeFlags
	var tenant, name, role, ttl, by, user string
	var asJSON bool
	fs := newFlagSet(e, "keys create", "tidewatch keys create --name NAME --role ROLE [--tenant ID] [--user NAME] [--ttl 90d]", `
Makes an API key and prints it once: keep it where you keep passwords.
--user binds the key to a person (see 'tidewatch keys user'): the key acts
as them, holds no more than their role and stops when they are disabled.
In a tenant with four eyes, overrides and approvals need such a key (or
the web interface): four eyes count people, not keys. Over the API and
the web a key is bound only by its own person; this command, on the
server's store, binds one for anyone (onboarding), and the key records
who made it: an approval with it does not count for that maker's
overrides (docs/api.md, "Two people").`)
	sf.register(fs, true)
	fs.StringVar(&tenant, "tenant", app.LocalTenant, "the key's tenant")
	fs.StringVar(&name, "name", "", "what the key is for (required)")
	fs.StringVar(&role, "role", "viewer", "viewer, analyst, underwriter or admin")
	fs.StringVar(&ttl, "ttl", "90d", "how long the key lives: 90d, 2w, 12m (m is months), 2y, 1y6m, or hours as 720h; at most 2y")
	fs.StringVar(&user, "user", "", "the user the key belongs to (optional)")
	fs.StringVar(&by, "by", currentUser(), "who makes it (audit log)")
	fs.BoolVar(&asJSON, "json", false, "print the key as JSON")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	span, err := app.ParseSpan(ttl)
	if err != nil {
		return usagef("--ttl %v", err)
	}
	now := time.Now()
	life := span.After(now).Sub(now)
	s, st, err := sf.service(app.Config{})
	if err != nil {
		return err
	}
	defer closeService(s, st)
	k, err := s.CreateAPIKey(context.Background(), localPrincipal(by), app.CreateKeyRequest{Tenant: tenant, Name: name, Role: role, User: user, TTL: life})
	if err != nil {
		if app.CodeOf(err) == app.CodeInvalid {
			return usagef("%v", err)
		}
		return err
	}
	if asJSON {
		return json.NewEncoder(e.stdout).Encode(k)
	}
	fmt.Fprintf(e.stdout, "%s\n", k.Secret)
	fmt.Fprintf(e.stderr, "key %s for tenant %s, role %s, expires %s (shown once; only its hash is stored)\n", k.ID, k.Tenant, k.Role, k.Expires.Format("2006-01-02"))
	return nil
}

func runKeysList(e *env, args []string) error {
	var sf storeFlags
	var tenant string
	var asJSON bool
	fs := newFlagSet(e, "keys list", "tidewatch keys list [--tenant ID]", `Lists a tenant's API keys: id, name, role, state, expiry.`)
	sf.register(fs, false)
	fs.StringVar(&tenant, "tenant", app.LocalTenant, "the tenant")
	fs.BoolVar(&asJSON, "json", false, "JSON output")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	s, st, err := sf.service(app.Config{})
	if err != nil {
		return err
	}
	defer closeService(s, st)
	ctx := context.Background()
	p, err := tenantPrincipal(ctx, s, tenant, currentUser())
	if err != nil {
		return err
	}
	ks, err := s.APIKeys(ctx, p)
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(e.stdout).Encode(ks)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tUSER\tROLE\tSTATE\tCREATED\tEXPIRES\tLAST USED")
	for _, k := range ks {
		state := "active"
		switch {
		case !k.Revoked.IsZero():
			state = "revoked " + k.Revoked.Format("2006-01-02")
		case time.Now().After(k.Expires):
			state = "expired"
		}
		last := "-"
		if !k.LastUsed.IsZero() {
			last = k.LastUsed.Format("2006-01-02 15:04")
		}
		user := "-"
		if k.User != "" {
			user = termtext.Safe(k.User)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, termtext.Safe(k.Name), user, k.Role, state, k.Created.Format("2006-01-02"), k.Expires.Format("2006-01-02"), last)
	}
	return tw.Flush()
}

func runKeysRevoke(e *env, args []string) error {
	var sf storeFlags
	var tenant, by string
	fs := newFlagSet(e, "keys revoke", "tidewatch keys revoke [--tenant ID] KEY-ID", `Revokes a key: every request with it is refused from now on.`)
	sf.register(fs, true)
	fs.StringVar(&tenant, "tenant", app.LocalTenant, "the key's tenant")
	fs.StringVar(&by, "by", currentUser(), "who revokes it (audit log)")
	pos, err := parseArgs(fs, args, 1, "give one key id (see 'tidewatch keys list')")
	if err != nil {
		return err
	}
	s, st, err := sf.service(app.Config{})
	if err != nil {
		return err
	}
	defer closeService(s, st)
	ctx := context.Background()
	p, err := tenantPrincipal(ctx, s, tenant, by)
	if err != nil {
		return err
	}
	k, err := s.RevokeAPIKey(ctx, p, strings.TrimPrefix(pos[0], app.KeyPrefix))
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "key %s (%s) revoked %s\n", k.ID, termtext.Safe(k.Name), k.Revoked.Format(time.RFC3339))
	return nil
}

func runKeysTenant(e *env, args []string) error {
	var sf storeFlags
	var name, by string
	var fourEyes, asJSON bool
	fs := newFlagSet(e, "keys tenant", "tidewatch keys tenant create ID [--name NAME] [--four-eyes]\n       tidewatch keys tenant policy ID --four-eyes=true|false\n       tidewatch keys tenant list", `
Creates a tenant (lower-case letters, digits and hyphens), sets a tenant's
policy, or lists them. --four-eyes makes a decision that overrides the
profile's recommendation wait for a second person's approval; 'policy'
turns it on or off for an existing tenant, "local" (the CLI's own) too.`)
	sf.register(fs, true)
	fs.StringVar(&name, "name", "", "the tenant's display name")
	fs.BoolVar(&fourEyes, "four-eyes", false, "overrides need a second person's approval")
	fs.StringVar(&by, "by", currentUser(), "who creates it (audit log)")
	fs.BoolVar(&asJSON, "json", false, "JSON output")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 || (pos[0] != "create" && pos[0] != "list" && pos[0] != "policy") || (pos[0] != "list" && len(pos) != 2) {
		return usagef("give 'create ID', 'policy ID --four-eyes=true|false' or 'list'")
	}
	fourEyesSet := false
	fs.Visit(func(f *flag.Flag) { fourEyesSet = fourEyesSet || f.Name == "four-eyes" })
	if pos[0] == "policy" && !fourEyesSet {
		return usagef("say the policy: --four-eyes=true or --four-eyes=false")
	}
	s, st, err := sf.service(app.Config{})
	if err != nil {
		return err
	}
	defer closeService(s, st)
	ctx := context.Background()
	if pos[0] == "list" {
		ts, err := s.Tenants(ctx, localPrincipal(by))
		if err != nil {
			return err
		}
		if asJSON {
			return json.NewEncoder(e.stdout).Encode(ts)
		}
		for _, t := range ts {
			op := ""
			if t.Operator {
				op = " (operator)"
			}
			fmt.Fprintf(e.stdout, "%-20s %s%s, four eyes: %v, created %s\n", t.ID, termtext.Safe(t.Name), op, t.Policy.FourEyes, t.Created.Format("2006-01-02"))
		}
		return nil
	}
	if pos[0] == "policy" {
		// The CLI holds the store: it acts as the tenant's administrator.
		p := localPrincipal(by)
		p.Tenant = pos[1]
		t, err := s.SetPolicy(ctx, p, store.TenantPolicy{FourEyes: fourEyes})
		if err != nil {
			return err
		}
		if asJSON {
			return json.NewEncoder(e.stdout).Encode(t)
		}
		fmt.Fprintf(e.stdout, "tenant %s: four eyes %v\n", t.ID, t.Policy.FourEyes)
		return nil
	}
	t, err := s.CreateTenant(ctx, localPrincipal(by), pos[1], name, store.TenantPolicy{FourEyes: fourEyes})
	if err != nil {
		if app.CodeOf(err) == app.CodeInvalid {
			return usagef("%v", err)
		}
		return err
	}
	if asJSON {
		return json.NewEncoder(e.stdout).Encode(t)
	}
	fmt.Fprintf(e.stdout, "tenant %s created; make its first key with 'tidewatch keys create --tenant %s --role admin --name NAME'\n", t.ID, t.ID)
	return nil
}
