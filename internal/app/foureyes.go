package app

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/tidewatch/tidewatch/store"
)

// Four eyes ask for two people. A person's credentials were made by
// someone: a user is added by an admin (who chose their first password),
// a key by whoever made it (who held its secret). Whoever made a
// credential could have used it, so an approval counts only when neither
// person's credentials trace back to the other: the approver was not
// added (directly, or through people or keys they made) by the maker,
// the key approving was not made by the maker, and the maker was not
// added by the approver. docs/api.md ("Four eyes") gives the rule and
// what it means for a tenant.

// step is one credential on the way back from a person to whoever made
// their credentials; path says, in words, how it was reached.
type step struct{ ref, path string }

// boundKeyActor reads a key bound to a person from an actor's text
// ("NAME (key ID)", as Authenticate writes it).
var boundKeyActor = regexp.MustCompile(`^(.+) \(key ([0-9a-f]{12})\)$`)

// unboundKeyActor reads a key bound to no one ("key ID (NAME)").
var unboundKeyActor = regexp.MustCompile(`^key ([0-9a-f]{12}) \(`)

// keyMadeBy is the credential that made a key: its MadeBy, or for a key
// made before MadeBy was recorded, read from its CreatedBy (the maker's
// actor text; the person taken to be of the key's tenant).
func keyMadeBy(k store.APIKey) string {
	if k.MadeBy != "" {
		return k.MadeBy
	}
	if m := unboundKeyActor.FindStringSubmatch(k.CreatedBy); m != nil {
		return "key:" + m[1]
	}
	if m := boundKeyActor.FindStringSubmatch(k.CreatedBy); m != nil {
		return k.Tenant + "/" + m[1]
	}
	if k.CreatedBy != "" {
		return k.Tenant + "/" + k.CreatedBy
	}
	return ""
}

// refWords names a credential reference in a message about tenant.
func refWords(tenant, ref string) string {
	if id, ok := strings.CutPrefix(ref, "key:"); ok {
		return "key " + id
	}
	t, n, _ := strings.Cut(ref, "/")
	if t == tenant {
		return n
	}
	return n + " of tenant " + t
}

// credentialSteps are the first steps back from a person of tenant
// (signed in, or with key keyID when not empty): who added the user,
// who made the key.
func (s *Service) credentialSteps(ctx context.Context, tenant, person, keyID string) ([]step, error) {
	var out []step
	if person != "" {
		u, err := s.st.User(ctx, tenant, person)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		if err == nil && u.MadeBy != "" {
			out = append(out, step{u.MadeBy, fmt.Sprintf("%s was added by %s", person, refWords(tenant, u.MadeBy))})
		}
	}
	if keyID != "" {
		k, err := s.st.APIKey(ctx, keyID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		if mb := keyMadeBy(k); err == nil && mb != "" {
			out = append(out, step{mb, fmt.Sprintf("key %s was made by %s", keyID, refWords(tenant, mb))})
		}
	}
	return out, nil
}

// traceTo follows credentials back from starts (users to who added them,
// keys to who made them) and reports the way to person target of tenant
// when it is reached.
func (s *Service) traceTo(ctx context.Context, tenant, target string, starts []step) (string, bool, error) {
	seen := map[string]bool{}
	queue := starts
	for n := 0; len(queue) > 0 && n < 256; n++ {
		st := queue[0]
		queue = queue[1:]
		if st.ref == "" || seen[strings.ToLower(st.ref)] {
			continue
		}
		seen[strings.ToLower(st.ref)] = true
		if id, ok := strings.CutPrefix(st.ref, "key:"); ok {
			k, err := s.st.APIKey(ctx, id)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return "", false, err
			}
			if mb := keyMadeBy(k); mb != "" {
				queue = append(queue, step{mb, st.path + ", which was made by " + refWords(tenant, mb)})
			}
			continue
		}
		t, name, _ := strings.Cut(st.ref, "/")
		if t == tenant && samePerson(name, target) {
			return st.path, true, nil
		}
		u, err := s.st.User(ctx, t, name)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return "", false, err
		}
		if u.MadeBy != "" {
			queue = append(queue, step{u.MadeBy, st.path + ", who was added by " + refWords(tenant, u.MadeBy)})
		}
	}
	return "", false, nil
}

// checkIndependent refuses an approval of decision d by p when either
// person's credentials trace back to the other.
func (s *Service) checkIndependent(ctx context.Context, p Principal, d store.Decision, maker string) error {
	starts, err := s.credentialSteps(ctx, p.Tenant, p.Person, p.KeyID)
	if err != nil {
		return err
	}
	path, found, err := s.traceTo(ctx, p.Tenant, maker, starts)
	if err != nil {
		return err
	}
	if found {
		return Errorf(CodeForbidden, "four eyes: %s cannot approve decision %d, made by %s: %s. An approval counts only from a person the maker did not add, with a key the maker did not make (directly or through people or keys they made): whoever made a credential could have used it",
			p.Person, d.ID, maker, path)
	}
	makerKey := ""
	if m := boundKeyActor.FindStringSubmatch(d.By); m != nil {
		makerKey = m[2]
	}
	starts, err = s.credentialSteps(ctx, p.Tenant, maker, makerKey)
	if err != nil {
		return err
	}
	path, found, err = s.traceTo(ctx, p.Tenant, p.Person, starts)
	if err != nil {
		return err
	}
	if found {
		return Errorf(CodeForbidden, "four eyes: %s cannot approve decision %d, made by %s: %s. A person does not approve the overrides of someone they added, or of a key they made (directly or through people or keys they made): they could have made the decision themselves",
			p.Person, d.ID, maker, path)
	}
	return nil
}
