package httpapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"reflect"

	"github.com/tidewatch/tidewatch/casefile"
	"github.com/tidewatch/tidewatch/internal/app"
	"github.com/tidewatch/tidewatch/store"
)

// SigningKeyRequest makes a signing key.
type SigningKeyRequest struct {
	Name string `json:"name"`
}

// Case files over HTTP: a tenant's public signing keys (to publish), its
// keys made, packages verified and imported (docs/cases.md). Exporting
// and replaying run from the command line.
func (s *Server) registerCases() {
	jsonRoute(s, route{method: "GET", path: "/v1/signing-keys", tag: "cases", role: app.RoleViewer,
		summary: "The tenant's public signing keys (PEM and raw base64): give them to those who verify its case files"},
		func(ctx context.Context, p app.Principal, r *http.Request, _ *noBody) ([]app.SigningKeyInfo, error) {
			return s.svc.SigningKeys(ctx, p)
		})
	jsonRoute(s, route{method: "POST", path: "/v1/signing-keys", tag: "cases", role: app.RoleAdmin, status: http.StatusCreated,
		summary: "Make a signing key for the tenant's case files (the private half stays sealed in the store)"},
		func(ctx context.Context, p app.Principal, r *http.Request, req *SigningKeyRequest) (app.SigningKeyInfo, error) {
			return s.svc.CreateSigningKey(ctx, p, req.Name)
		})
	// A package is read within casefile.ServerLimits (a zip bomb costs
	// an error, not the server's memory); for verifying, its payload is
	// hashed as it inflates and not kept.
	readPackage := func(w http.ResponseWriter, r *http.Request, verifyOnly bool) (*casefile.Bag, error) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opt.MaxUpload))
		if err != nil {
			return nil, err
		}
		bag, err := casefile.ReadZipWith(body, casefile.ReadOptions{Limits: casefile.ServerLimits, DigestPayload: verifyOnly})
		var le *casefile.LimitError
		if errors.As(err, &le) {
			return nil, app.Errorf(app.CodeTooLarge, "the package: %v", err)
		}
		if err != nil {
			return nil, app.Errorf(app.CodeInvalid, "the package: %v", err)
		}
		return bag, nil
	}
	s.add(&route{method: "POST", path: "/v1/cases/verify", tag: "cases", role: app.RoleViewer, long: true, bodyContent: "application/zip",
		summary: "Verify a case file (zip): every file's SHA-256 and every signature, the tenant's own keys trusted; each problem names its file",
		resp:    reflect.TypeFor[casefile.Report](), handle: func(w http.ResponseWriter, r *http.Request, p app.Principal) error {
			bag, err := readPackage(w, r, true)
			if err != nil {
				return err
			}
			rep, err := s.svc.VerifyCase(r.Context(), p, bag)
			if err != nil {
				return err
			}
			writeJSON(w, http.StatusOK, rep)
			return nil
		}})
	s.add(&route{method: "POST", path: "/v1/cases/import", tag: "cases", role: app.RoleAnalyst, long: true, bodyContent: "application/zip", status: http.StatusCreated,
		summary: "Import a case file (zip) received: refused unless it verifies; kept with who signed it and when, shown in the tenant's reports of the vessel",
		resp:    reflect.TypeFor[store.ImportedCase](), handle: func(w http.ResponseWriter, r *http.Request, p app.Principal) error {
			bag, err := readPackage(w, r, false)
			if err != nil {
				return err
			}
			c, err := s.svc.ImportCase(r.Context(), p, app.CaseImportRequest{Bag: bag})
			if err != nil {
				return err
			}
			writeJSON(w, http.StatusCreated, c)
			return nil
		}})
	jsonRoute(s, route{method: "GET", path: "/v1/vessels/{vessel}/cases", tag: "cases", role: app.RoleViewer, params: []param{pathParam("vessel", "IMO number or MMSI")},
		summary: "The case files about a vessel the tenant imported, with who signed them and when"},
		func(ctx context.Context, p app.Principal, r *http.Request, _ *noBody) ([]store.ImportedCase, error) {
			q, err := vesselOf(r)
			if err != nil {
				return nil, err
			}
			return s.svc.ImportedCases(ctx, p, q)
		})
}
