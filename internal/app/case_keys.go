package app

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tidewatch/tidewatch/casefile"
	"github.com/tidewatch/tidewatch/store"
)

// Signing keys: each tenant signs the case files it exports (and adds its
// signature to others') with Ed25519 keys of its own. The private half is
// sealed with the installation's key (AES-256-GCM, as webhook secrets
// are) and never leaves the store but on an admin's explicit export; the
// public half is publishable.

// ActionCase is the audit action of case files and signing keys.
const ActionCase = "case"

// SigningKeyInfo is a signing key's public half.
type SigningKeyInfo struct {
	Tenant string `json:"tenant"`
	ID     string `json:"id"`
	Name   string `json:"name"`
	// PublicKey is the raw 32-byte key in standard base64; PublicKeyPEM
	// the same as a PKIX "PUBLIC KEY" block (openssl reads it).
	PublicKey    string    `json:"public_key"`
	PublicKeyPEM string    `json:"public_key_pem"`
	Created      time.Time `json:"created"`
	CreatedBy    string    `json:"created_by"`
	Retired      time.Time `json:"retired,omitzero"`
}

func keyInfo(k store.SigningKey) SigningKeyInfo {
	return SigningKeyInfo{Tenant: k.Tenant, ID: k.ID, Name: k.Name, PublicKey: base64.StdEncoding.EncodeToString(k.PublicKey),
		PublicKeyPEM: string(PublicKeyPEM(ed25519.PublicKey(k.PublicKey))), Created: k.Created, CreatedBy: k.CreatedBy, Retired: k.Retired}
}

// PublicKeyPEM encodes a public key as a PKIX PEM block.
func PublicKeyPEM(pub ed25519.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// PrivateKeyPEM encodes a private key as a PKCS #8 PEM block.
func PrivateKeyPEM(k ed25519.PrivateKey) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// ParsePublicKey reads an Ed25519 public key: a PKIX PEM block, a PKCS #8
// private key PEM block (its public half), or the raw 32 bytes in base64.
func ParsePublicKey(data []byte) (ed25519.PublicKey, error) {
	if blk, _ := pem.Decode(data); blk != nil {
		switch blk.Type {
		case "PUBLIC KEY":
			k, err := x509.ParsePKIXPublicKey(blk.Bytes)
			if err != nil {
				return nil, err
			}
			if pk, ok := k.(ed25519.PublicKey); ok {
				return pk, nil
			}
			return nil, errors.New("not an Ed25519 public key")
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
			if err != nil {
				return nil, err
			}
			if sk, ok := k.(ed25519.PrivateKey); ok {
				return sk.Public().(ed25519.PublicKey), nil
			}
			return nil, errors.New("not an Ed25519 private key")
		}
		return nil, fmt.Errorf("a PEM block of type %q: want PUBLIC KEY", blk.Type)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, errors.New("not an Ed25519 public key (PEM, or 32 bytes in base64)")
	}
	return ed25519.PublicKey(raw), nil
}

// CreateSigningKey makes a tenant's new signing key (admins).
func (s *Service) CreateSigningKey(ctx context.Context, p Principal, name string) (SigningKeyInfo, error) {
	if err := p.need(RoleAdmin, "creating a signing key"); err != nil {
		return SigningKeyInfo{}, err
	}
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 200 {
		return SigningKeyInfo{}, Errorf(CodeInvalid, "give the key a name (who signs with it: a person, a desk), at most 200 bytes")
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return SigningKeyInfo{}, err
	}
	sealed, err := s.seal(priv.Seed())
	if err != nil {
		return SigningKeyInfo{}, err
	}
	k := store.SigningKey{Tenant: p.Tenant, ID: casefile.KeyID(pub), Name: name, PublicKey: pub, Sealed: sealed, Created: s.Now(), CreatedBy: p.Actor}
	if err := s.st.PutSigningKey(ctx, k, false); err != nil {
		return SigningKeyInfo{}, err
	}
	if _, err := s.record(ctx, p, ActionCase, "signing-key:"+k.ID, map[string]any{"created_signing_key": k.ID, "name": name}); err != nil {
		return SigningKeyInfo{}, err
	}
	return keyInfo(k), nil
}

// SigningKeys lists the tenant's signing keys (public halves).
func (s *Service) SigningKeys(ctx context.Context, p Principal) ([]SigningKeyInfo, error) {
	if err := p.need(RoleViewer, "reading signing keys"); err != nil {
		return nil, err
	}
	ks, err := s.st.SigningKeys(ctx, p.Tenant)
	if err != nil {
		return nil, err
	}
	out := []SigningKeyInfo{}
	for _, k := range ks {
		out = append(out, keyInfo(k))
	}
	return out, nil
}

// ExportSigningKey returns a signing key's private half (admins; audited):
// for a signer who must sign offline, or to move a key.
func (s *Service) ExportSigningKey(ctx context.Context, p Principal, id string) (ed25519.PrivateKey, SigningKeyInfo, error) {
	if err := p.need(RoleAdmin, "exporting a signing key"); err != nil {
		return nil, SigningKeyInfo{}, err
	}
	priv, k, err := s.signingKey(ctx, p, id)
	if err != nil {
		return nil, SigningKeyInfo{}, err
	}
	if _, err := s.record(ctx, p, ActionCase, "signing-key:"+k.ID, map[string]any{"exported_signing_key": k.ID}); err != nil {
		return nil, SigningKeyInfo{}, err
	}
	return priv, keyInfo(k), nil
}

// signingKey unseals a tenant's key: the one named (a unique prefix of its
// id will do), else the newest one in force.
func (s *Service) signingKey(ctx context.Context, p Principal, id string) (ed25519.PrivateKey, store.SigningKey, error) {
	ks, err := s.st.SigningKeys(ctx, p.Tenant)
	if err != nil {
		return nil, store.SigningKey{}, err
	}
	var pick []store.SigningKey
	for _, k := range ks {
		switch {
		case id == "" && k.Retired.IsZero():
			pick = []store.SigningKey{k} // the newest, as they come oldest first
		case id != "" && strings.HasPrefix(k.ID, strings.ToLower(id)) && len(id) >= 8:
			pick = append(pick, k)
		}
	}
	switch {
	case len(pick) == 0 && id == "":
		return nil, store.SigningKey{}, Errorf(CodePrecondition, "tenant %s has no signing key: make one with 'tidewatch keys signing create'", p.Tenant)
	case len(pick) == 0:
		return nil, store.SigningKey{}, Errorf(CodeNotFound, "no signing key %q (give 8 or more characters of its id)", id)
	case len(pick) > 1:
		return nil, store.SigningKey{}, Errorf(CodeInvalid, "signing key %q: several keys start so; give more of the id", id)
	}
	k := pick[0]
	seed, err := s.unseal(k.Sealed)
	if err != nil {
		var ae *Error
		if errors.As(err, &ae) {
			return nil, k, err
		}
		return nil, k, Errorf(CodePrecondition, "signing key %.16s cannot be unsealed with this installation's seal key (another key file?)", k.ID)
	}
	if len(seed) != ed25519.SeedSize {
		return nil, k, Errorf(CodeInternal, "signing key %.16s: the sealed seed is %d bytes", k.ID, len(seed))
	}
	priv := ed25519.NewKeyFromSeed(seed)
	if casefile.KeyID(priv.Public().(ed25519.PublicKey)) != k.ID {
		return nil, k, Errorf(CodeInternal, "signing key %.16s: the sealed seed is not this key's", k.ID)
	}
	return priv, k, nil
}

// trustedKeys are the tenant's own public keys.
func (s *Service) trustedKeys(ctx context.Context, tenant string) ([]ed25519.PublicKey, error) {
	ks, err := s.st.SigningKeys(ctx, tenant)
	if err != nil {
		return nil, err
	}
	var out []ed25519.PublicKey
	for _, k := range ks {
		out = append(out, ed25519.PublicKey(k.PublicKey))
	}
	return out, nil
}
