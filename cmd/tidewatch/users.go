package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/internal/termtext"
	"github.com/tidewatch/tidewatch/store"
)

func runKeysUser(e *env, args []string) error {
	var sf storeFlags
	var tenant, role, pwFile, by string
	var asJSON bool
	fs := newFlagSet(e, "keys user", `tidewatch keys user create NAME --role ROLE [--tenant ID] [--password-file FILE|-]
       tidewatch keys user list [--tenant ID]
       tidewatch keys user disable|enable NAME [--tenant ID]`, `
Users are the people who sign in to the web interface ('tidewatch serve').
Each belongs to a tenant and has a role, as keys do. A password comes from
--password-file (its first line; '-' reads standard input); without one a
random password is made and printed once. Passwords are stored only as
argon2id hashes. Five wrong passwords lock a user out for 15 minutes.
Disabling a user ends their sessions and stops the keys bound to them.`)
	sf.register(fs, true)
	fs.StringVar(&tenant, "tenant", app.LocalTenant, "the user's tenant")
	fs.StringVar(&role, "role", "viewer", "viewer, analyst, underwriter or admin")
	fs.StringVar(&pwFile, "password-file", "", "read the password from this file's first line ('-': standard input)")
	fs.StringVar(&by, "by", currentUser(), "who does it (audit log)")
	fs.BoolVar(&asJSON, "json", false, "JSON output")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("give 'create NAME', 'list', 'disable NAME' or 'enable NAME'")
	}
	switch pos[0] {
	case "list":
		if len(pos) != 1 {
			return usagef("'list' takes no argument")
		}
	case "create", "disable", "enable":
		if len(pos) != 2 {
			return usagef("give '%s NAME'", pos[0])
		}
	default:
		return usagef("unknown action %q: give create, list, disable or enable", pos[0])
	}
	var password string
	generated := false
	if pos[0] == "create" {
		if password, err = readPassword(e, pwFile); err != nil {
			return err
		}
		if password == "" {
			var b [15]byte
			if _, err := rand.Read(b[:]); err != nil {
				return err
			}
			password, generated = strings.ToLower(base32.StdEncoding.EncodeToString(b[:])), true
		}
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
	switch pos[0] {
	case "list":
		us, err := s.Users(ctx, p)
		if err != nil {
			return err
		}
		if asJSON {
			return json.NewEncoder(e.stdout).Encode(us)
		}
		if len(us) == 0 {
			fmt.Fprintf(e.stdout, "tenant %s has no users; add one with 'tidewatch keys user create NAME --tenant %s --role ROLE'\n", p.Tenant, p.Tenant)
			return nil
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "USER\tROLE\tSTATE\tCREATED")
		for _, u := range us {
			state := "active"
			switch {
			case u.Disabled:
				state = "disabled"
			case !u.LockedUntil.IsZero() && u.LockedUntil.After(time.Now()):
				state = "locked until " + u.LockedUntil.Format("15:04 MST")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", termtext.Safe(u.Name), u.Role, state, u.Created.Format("2006-01-02"))
		}
		return tw.Flush()
	case "create":
		u, err := s.CreateUser(ctx, p, p.Tenant, pos[1], role, password)
		if err != nil {
			if app.CodeOf(err) == app.CodeInvalid {
				return usagef("%v", err)
			}
			return err
		}
		if asJSON {
			out := struct {
				store.User
				Password string `json:"password,omitempty"`
			}{u, ""}
			if generated {
				out.Password = password
			}
			return json.NewEncoder(e.stdout).Encode(out)
		}
		fmt.Fprintf(e.stdout, "user %s added to tenant %s with the %s role\n", u.Name, u.Tenant, u.Role)
		if generated {
			fmt.Fprintf(e.stdout, "password (shown once): %s\n", password)
		}
		return nil
	default:
		u, err := s.SetUserDisabled(ctx, p, pos[1], pos[0] == "disable")
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "user %s of tenant %s %sd\n", u.Name, u.Tenant, pos[0])
		return nil
	}
}

// readPassword reads a password from a file's first line ("-": standard
// input); "" without a file.
func readPassword(e *env, file string) (string, error) {
	if file == "" {
		return "", nil
	}
	var r io.Reader = e.stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return "", err
		}
		defer f.Close()
		r = f
	}
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", usagef("--password-file %s: the first line is empty", file)
	}
	return line, nil
}
