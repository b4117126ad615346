package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tidewatch/tidewatch/sanctions"
	"github.com/tidewatch/tidewatch/store"
)

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// plain makes a string fit a text column kept for people reading the
// database (never read back): NUL dropped, invalid UTF-8 replaced.
func plain(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}

// PutListVersions stores list versions with their entities (by COPY) and
// raw files in one transaction: all or none. A version already held (same
// ID), by this node or another at the same moment, is left as it is.
func (s *DB) PutListVersions(ctx context.Context, vs []store.ListVersion) (int, error) {
	added := 0
	err := s.tx(ctx, func(tx pgx.Tx) error {
		added = 0
		for _, v := range vs {
			ok, err := putListVersion(ctx, tx, v)
			if err != nil {
				return err
			}
			if ok {
				added++
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return added, nil
}

func putListVersion(ctx context.Context, tx pgx.Tx, lv store.ListVersion) (bool, error) {
	ds := lv.Dataset
	vj, err := json.Marshal(ds.Version)
	if err != nil {
		return false, err
	}
	// Another node storing the same version waits here for the first to
	// commit, then finds it held.
	tag, err := tx.Exec(ctx, `INSERT INTO list_versions(id, list, sha256, published, retrieved_ms, json) VALUES($1,$2,$3,$4,$5,$6) ON CONFLICT (id) DO NOTHING`,
		ds.Version.ID, plain(ds.Version.List), plain(ds.Version.SHA256), plain(ds.Version.Published), ms(ds.Version.Retrieved), vj)
	if err != nil {
		return false, fmt.Errorf("store list version %s: %w", ds.Version.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return false, nil
	}
	rows := make([][]any, len(ds.Entities))
	for i, e := range ds.Entities {
		ej, err := json.Marshal(e)
		if err != nil {
			return false, err
		}
		rows[i] = []any{ds.Version.ID, int32(i), plain(e.ID), ej}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"list_entities"}, []string{"version_id", "seq", "entity_id", "json"}, pgx.CopyFromRows(rows)); err != nil {
		return false, fmt.Errorf("store the entities of %s: %w", ds.Version.ID, err)
	}
	for _, f := range lv.Files {
		data := f.Data
		if data == nil {
			data = []byte{}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO list_files(version_id, role, name, sha256, data) VALUES($1,$2,$3,$4,$5)
			ON CONFLICT (version_id, role, name) DO UPDATE SET sha256 = excluded.sha256, data = excluded.data`,
			ds.Version.ID, f.Role, f.Name, f.SHA256, data); err != nil {
			return false, fmt.Errorf("store file %s of %s: %w", f.Name, ds.Version.ID, err)
		}
	}
	return true, nil
}

// ListVersions returns every stored list version, by list then ID.
func (s *DB) ListVersions(ctx context.Context) ([]sanctions.Version, error) {
	return jsonRows[sanctions.Version](ctx, s, "list version record", `SELECT json FROM list_versions ORDER BY list, id`)
}

// ListEntities returns a stored version's entities in source order.
func (s *DB) ListEntities(ctx context.Context, versionID string) ([]*sanctions.Entity, error) {
	out, err := jsonRows[*sanctions.Entity](ctx, s, "entity of "+versionID, `SELECT json FROM list_entities WHERE version_id = $1 ORDER BY seq`, versionID)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		var n int
		if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM list_versions WHERE id = $1`, versionID).Scan(&n); err != nil && !isBadText(err) {
			return nil, err
		}
		if n == 0 {
			return nil, fmt.Errorf("list version %s: %w", versionID, store.ErrNotFound)
		}
	}
	return out, nil
}

// ListFiles returns a version's raw files, by role and name.
func (s *DB) ListFiles(ctx context.Context, versionID string) ([]store.ListFile, error) {
	rows, err := s.pool.Query(ctx, `SELECT role, name, sha256, data FROM list_files WHERE version_id = $1 ORDER BY role, name`, versionID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.ListFile
	for rows.Next() {
		var f store.ListFile
		if err := rows.Scan(&f.Role, &f.Name, &f.SHA256, &f.Data); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil && !isBadText(err) {
		return nil, err
	}
	return out, nil
}

// LogListImport appends an import attempt to the log.
func (s *DB) LogListImport(ctx context.Context, a store.ListImport) error {
	j, err := json.Marshal(a)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO list_imports(list, time_ms, json) VALUES($1,$2,$3)`, plain(a.List), ms(a.Time), j)
	return err
}

// ListImports returns the import log of a list ("" for every list),
// oldest first.
func (s *DB) ListImports(ctx context.Context, list string) ([]store.ListImport, error) {
	if list == "" {
		return jsonRows[store.ListImport](ctx, s, "import record", `SELECT json FROM list_imports ORDER BY id`)
	}
	return jsonRows[store.ListImport](ctx, s, "import record", `SELECT json FROM list_imports WHERE list = $1 ORDER BY id`, plain(list))
}
