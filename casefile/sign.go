package casefile

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// In-toto and DSSE names.
const (
	StatementType = "https://in-toto.io/Statement/v1"
	// PayloadType is the DSSE payload type of an in-toto statement.
	PayloadType = "application/vnd.in-toto+json"
	// PredicateType names Tidewatch's case predicate (docs/cases.md).
	PredicateType = "https://github.com/tidewatch/tidewatch/blob/main/docs/cases.md#predicate-v1"
	// signerClaimType is the DSSE payload type a signer's claim (who,
	// when) is signed under, so a claim signature can never pass for a
	// statement signature or the reverse.
	signerClaimType = "application/vnd.tidewatch.case-signer+json"
)

// PAE is DSSE's pre-authentication encoding of a payload: "DSSEv1" SP
// LEN(type) SP type SP LEN(body) SP body, lengths as ASCII decimal byte
// counts. Signatures are over these bytes.
func PAE(payloadType string, payload []byte) []byte {
	var b bytes.Buffer
	b.WriteString("DSSEv1 ")
	b.WriteString(strconv.Itoa(len(payloadType)))
	b.WriteByte(' ')
	b.WriteString(payloadType)
	b.WriteByte(' ')
	b.WriteString(strconv.Itoa(len(payload)))
	b.WriteByte(' ')
	b.Write(payload)
	return b.Bytes()
}

// Envelope is a DSSE envelope.
type Envelope struct {
	Payload     string      `json:"payload"` // standard base64
	PayloadType string      `json:"payloadType"`
	Signatures  []Signature `json:"signatures"`
}

// Signature is one party's signature in an envelope.
type Signature struct {
	KeyID string `json:"keyid"`
	Sig   string `json:"sig"` // standard base64 of the Ed25519 signature
}

// Digest is a subject's digest set.
type Digest struct {
	SHA256 string `json:"sha256"`
}

// Subject is a file the statement names.
type Subject struct {
	Name   string `json:"name"`
	Digest Digest `json:"digest"`
}

// Statement is an in-toto Statement v1 with Tidewatch's predicate.
type Statement struct {
	Type          string          `json:"_type"`
	Subject       []Subject       `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

// Signer is who holds a key and when they signed, as the package records
// it: a claim the key itself signs.
type Signer struct {
	KeyID        string    `json:"keyid"`
	PublicKey    string    `json:"public_key"` // standard base64, 32 bytes
	Name         string    `json:"name"`
	Organization string    `json:"organization"`
	SignedAt     time.Time `json:"signed_at"`
	// ClaimSig signs PAE(signerClaimType, the claim): keyid, name,
	// organization, signed_at and the statement's SHA-256.
	ClaimSig string `json:"claim_sig"`
}

type signerClaim struct {
	KeyID           string    `json:"keyid"`
	Name            string    `json:"name"`
	Organization    string    `json:"organization"`
	SignedAt        time.Time `json:"signed_at"`
	StatementSHA256 string    `json:"statement_sha256"`
}

func (s Signer) claim(statementSum string) []byte {
	b, _ := json.Marshal(signerClaim{KeyID: s.KeyID, Name: s.Name, Organization: s.Organization, SignedAt: s.SignedAt.UTC(), StatementSHA256: statementSum})
	return b
}

// KeyID is a public key's id: the hex SHA-256 of its 32 bytes.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:])
}

// canonical is how the signature files are written; a reader requires it
// byte for byte, so no byte of them can change unnoticed.
func canonical(v any) []byte {
	b, _ := json.MarshalIndent(v, "", "  ")
	return append(b, '\n')
}

// Seal names every file of the bag (payload and tag files) by its SHA-256
// in an in-toto statement with the predicate, and puts it in a new,
// unsigned DSSE envelope. A bag already sealed is refused.
func (b *Bag) Seal(predicate any) error {
	if _, ok := b.files[EnvelopeFile]; ok {
		return errors.New("the bag is sealed already: sign it, or make a new one")
	}
	pred, err := json.Marshal(predicate)
	if err != nil {
		return err
	}
	st := Statement{Type: StatementType, PredicateType: PredicateType, Predicate: pred}
	for _, p := range b.Paths() {
		if p == SignersFile {
			continue
		}
		sum := b.sha256Of(p)
		st.Subject = append(st.Subject, Subject{Name: p, Digest: Digest{SHA256: hex.EncodeToString(sum[:])}})
	}
	payload, err := json.Marshal(st)
	if err != nil {
		return err
	}
	b.files[EnvelopeFile] = canonical(Envelope{Payload: base64.StdEncoding.EncodeToString(payload), PayloadType: PayloadType, Signatures: []Signature{}})
	b.files[SignersFile] = canonical([]Signer{})
	return nil
}

// Sign adds a party's signature of the statement, and its claim of who
// and when. The bag must verify first (Verify with no trusted keys): a
// party signs only what it checked. A key that signed already is refused.
func (b *Bag) Sign(key ed25519.PrivateKey, name, organization string, at time.Time) error {
	if rep := Verify(b, nil); !rep.Intact() {
		for _, p := range rep.Problems {
			if p != (Problem{File: EnvelopeFile, Problem: problemUnsigned}) {
				return fmt.Errorf("the package does not verify, so it is not signed: %s", p)
			}
		}
	}
	env, err := readEnvelope(b.files[EnvelopeFile])
	if err != nil {
		return err
	}
	signers, err := readSigners(b.files[SignersFile])
	if err != nil {
		return err
	}
	pub := key.Public().(ed25519.PublicKey)
	id := KeyID(pub)
	for _, s := range env.Signatures {
		if s.KeyID == id {
			return fmt.Errorf("key %.16s signed this package already", id)
		}
	}
	payload, _ := base64.StdEncoding.DecodeString(env.Payload)
	env.Signatures = append(env.Signatures, Signature{KeyID: id, Sig: base64.StdEncoding.EncodeToString(ed25519.Sign(key, PAE(env.PayloadType, payload)))})
	sum := sha256.Sum256(payload)
	s := Signer{KeyID: id, PublicKey: base64.StdEncoding.EncodeToString(pub), Name: name, Organization: organization, SignedAt: at.UTC().Truncate(time.Second)}
	s.ClaimSig = base64.StdEncoding.EncodeToString(ed25519.Sign(key, PAE(signerClaimType, s.claim(hex.EncodeToString(sum[:])))))
	signers = append(signers, s)
	b.files[EnvelopeFile] = canonical(env)
	b.files[SignersFile] = canonical(signers)
	return nil
}

// decodeStrict decodes JSON refusing unknown fields and trailing data,
// and requires the bytes to be in canonical form.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("not valid JSON of its kind: %v", err)
	}
	if dec.More() {
		return errors.New("trailing data after the JSON")
	}
	if !bytes.Equal(canonical(v), data) {
		return errors.New("not in its canonical form (two-space indented JSON, fields in order, one final newline): the bytes were changed")
	}
	return nil
}

func readEnvelope(data []byte) (Envelope, error) {
	var env Envelope
	if err := decodeStrict(data, &env); err != nil {
		return env, err
	}
	if env.PayloadType != PayloadType {
		return env, fmt.Errorf("payload type %q, want %q", env.PayloadType, PayloadType)
	}
	return env, nil
}

func readSigners(data []byte) ([]Signer, error) {
	var ss []Signer
	if err := decodeStrict(data, &ss); err != nil {
		return nil, err
	}
	if ss == nil {
		return nil, errors.New("not a list of signers")
	}
	return ss, nil
}

// Statement returns the bag's statement (from its envelope) and the hex
// SHA-256 of its bytes.
func (b *Bag) Statement() (Statement, string, error) {
	env, err := readEnvelope(b.files[EnvelopeFile])
	if err != nil {
		return Statement{}, "", err
	}
	payload, err := base64.StdEncoding.Strict().DecodeString(env.Payload)
	if err != nil {
		return Statement{}, "", fmt.Errorf("payload: %v", err)
	}
	var st Statement
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return st, "", fmt.Errorf("statement: %v", err)
	}
	sum := sha256.Sum256(payload)
	return st, hex.EncodeToString(sum[:]), nil
}

// Signers returns the signers the package records.
func (b *Bag) Signers() ([]Signer, error) { return readSigners(b.files[SignersFile]) }
