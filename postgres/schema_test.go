package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/engram-kb/engram/internal/testdb"
	"github.com/jackc/pgx/v5"
)

// directoryKeys are the keys of tenant-owned tables that do not start
// with tenant_id, each because a lookup must find the tenant from it.
// Where tables are distributed by tenant_id (docs/SCALING.md) such a table
// is a reference table, or the key moves to one.
var directoryKeys = map[string]string{
	"api_keys_key_hash_key": "a request's API key finds its tenant by the key's hash",
}

// TestKeysStartWithTenant checks the condition for distributing the
// schema by tenant: every primary key, unique key, unique index and
// foreign key of a table with a tenant_id starts with tenant_id (a foreign
// key may also point at tenants(id), a reference table when distributed),
// apart from the directory keys above.
func TestKeysStartWithTenant(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	pool := testdb.Postgres(s).Pool()
	rs, err := pool.Query(ctx, `
		SELECT c.relname, i.relname, x.indisprimary,
		       (SELECT array_agg(a.attname ORDER BY k.n) FROM unnest(x.indkey) WITH ORDINALITY k(attnum, n)
		          LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum)::text[],
		       pg_get_indexdef(x.indexrelid)
		  FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid
		 WHERE x.indisunique AND c.relnamespace = current_schema()::regnamespace
		   AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)`)
	if err != nil {
		t.Fatal(err)
	}
	type key struct {
		table, name string
		primary     bool
		cols        []*string
		def         string
	}
	keys, err := pgx.CollectRows(rs, func(r pgx.CollectableRow) (key, error) {
		var k key
		err := r.Scan(&k.table, &k.name, &k.primary, &k.cols, &k.def)
		return k, err
	})
	if err != nil {
		t.Fatal(err)
	}
	primaries := 0
	for _, k := range keys {
		if k.primary {
			primaries++
		}
		if len(k.cols) == 0 || k.cols[0] == nil || *k.cols[0] != "tenant_id" {
			if directoryKeys[k.name] == "" {
				t.Errorf("%s: unique key %s does not start with tenant_id: %s", k.table, k.name, k.def)
			}
		}
	}
	if primaries < 13 {
		t.Errorf("%d primary keys of tenant tables checked, want at least 13 (every tenant table but the two count-delta tables)", primaries)
	}

	rs, err = pool.Query(ctx, `
		SELECT c.relname, con.conname, pg_get_constraintdef(con.oid), f.relname,
		       (SELECT a.attname FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum = con.conkey[1]),
		       (SELECT a.attname FROM pg_attribute a WHERE a.attrelid = f.oid AND a.attnum = con.confkey[1])
		  FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_class f ON f.oid = con.confrelid
		 WHERE con.contype = 'f' AND c.relnamespace = current_schema()::regnamespace
		   AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)`)
	if err != nil {
		t.Fatal(err)
	}
	fks := 0
	for rs.Next() {
		var table, name, def, target, first, targetFirst string
		if err := rs.Scan(&table, &name, &def, &target, &first, &targetFirst); err != nil {
			t.Fatal(err)
		}
		fks++
		toTenants := target == "tenants" && first == "tenant_id" && targetFirst == "id"
		colocated := first == "tenant_id" && targetFirst == "tenant_id"
		if !toTenants && !colocated {
			t.Errorf("%s: foreign key %s neither starts with tenant_id on both sides nor points at tenants(id): %s", table, name, def)
		}
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	if fks < 10 {
		t.Errorf("%d foreign keys checked, want at least 10", fks)
	}
	for name, why := range directoryKeys {
		if strings.TrimSpace(why) == "" {
			t.Errorf("directory key %s has no reason", name)
		}
	}
}
