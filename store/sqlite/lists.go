package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/tidewatch/tidewatch/sanctions"
	"github.com/tidewatch/tidewatch/store"
)

// PutListVersions stores list versions with their entities and raw files
// in one transaction: all or none. A version already held (same ID) is
// left as it is.
func (s *DB) PutListVersions(ctx context.Context, vs []store.ListVersion) (int, error) {
	tx, err := s.begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	added := 0
	for _, v := range vs {
		ok, err := putListVersion(ctx, tx, v)
		if err != nil {
			return 0, err
		}
		if ok {
			added++
		}
	}
	return added, tx.Commit()
}

func putListVersion(ctx context.Context, tx *sql.Tx, lv store.ListVersion) (bool, error) {
	ds := lv.Dataset
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM list_versions WHERE id = ?`, ds.Version.ID).Scan(&n); err != nil {
		return false, err
	}
	if n > 0 {
		return false, nil
	}
	vj, err := json.Marshal(ds.Version)
	if err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO list_versions(id, list, sha256, published, retrieved_ms, json) VALUES(?,?,?,?,?,?)`,
		ds.Version.ID, ds.Version.List, ds.Version.SHA256, ds.Version.Published, ms(ds.Version.Retrieved), string(vj)); err != nil {
		return false, fmt.Errorf("store list version %s: %w", ds.Version.ID, err)
	}
	st, err := tx.PrepareContext(ctx, `INSERT INTO list_entities(version_id, seq, entity_id, type, name, ship_imo, json) VALUES(?,?,?,?,?,?,?)`)
	if err != nil {
		return false, err
	}
	defer st.Close()
	for i, e := range ds.Entities {
		ej, err := json.Marshal(e)
		if err != nil {
			return false, err
		}
		if _, err := st.ExecContext(ctx, ds.Version.ID, i, e.ID, string(e.Type), e.Name, e.ShipIMO(), string(ej)); err != nil {
			return false, fmt.Errorf("store entity %s of %s: %w", e.ID, ds.Version.ID, err)
		}
	}
	for _, f := range lv.Files {
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO list_files(version_id, role, name, sha256, data) VALUES(?,?,?,?,?)`,
			ds.Version.ID, f.Role, f.Name, f.SHA256, f.Data); err != nil {
			return false, fmt.Errorf("store file %s of %s: %w", f.Name, ds.Version.ID, err)
		}
	}
	return true, nil
}

// ListVersions returns every stored list version, by list then ID.
func (s *DB) ListVersions(ctx context.Context) ([]sanctions.Version, error) {
	return jsonRows[sanctions.Version](ctx, s.r, "list version record", `SELECT json FROM list_versions ORDER BY list, id`)
}

// ListEntities returns a stored version's entities in source order.
func (s *DB) ListEntities(ctx context.Context, versionID string) ([]*sanctions.Entity, error) {
	out, err := jsonRowsParallel[*sanctions.Entity](ctx, s.r, "entity of "+versionID, `SELECT json FROM list_entities WHERE version_id = ? ORDER BY seq`, versionID)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		var n int
		if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM list_versions WHERE id = ?`, versionID).Scan(&n); err != nil {
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
	rows, err := s.r.QueryContext(ctx, `SELECT role, name, sha256, data FROM list_files WHERE version_id = ? ORDER BY role, name`, versionID)
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
	return out, rows.Err()
}

// LogListImport appends an import attempt to the log.
func (s *DB) LogListImport(ctx context.Context, a store.ListImport) error {
	j, err := json.Marshal(a)
	if err != nil {
		return err
	}
	_, err = s.exec(ctx, `INSERT INTO list_imports(list, time_ms, json) VALUES(?,?,?)`, a.List, ms(a.Time), string(j))
	return err
}

// ListImports returns the import log of a list ("" for every list),
// oldest first.
func (s *DB) ListImports(ctx context.Context, list string) ([]store.ListImport, error) {
	if list == "" {
		return jsonRows[store.ListImport](ctx, s.r, "import record", `SELECT json FROM list_imports ORDER BY id`)
	}
	return jsonRows[store.ListImport](ctx, s.r, "import record", `SELECT json FROM list_imports WHERE list = ? ORDER BY id`, list)
}
