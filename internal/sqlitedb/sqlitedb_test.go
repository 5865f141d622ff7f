package sqlitedb

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

func TestMigrationsRunInOrderOnce(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "x.db")
	fsys := fstest.MapFS{
		"m/0002_b.sql": {Data: []byte("INSERT INTO t VALUES (2);")},
		"m/0001_a.sql": {Data: []byte("CREATE TABLE t (v INTEGER);")},
	}
	for range 2 { // the second open finds both applied
		db, err := Open(ctx, file, fsys, "m")
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := db.W.QueryRowContext(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil || n != 1 {
			t.Fatalf("rows %d, %v", n, err)
		}
		db.Close()
	}
}

func TestMigrationsSharingAVersionAreRefused(t *testing.T) {
	fsys := fstest.MapFS{
		"m/0001_a.sql":           {Data: []byte("CREATE TABLE a (v INTEGER);")},
		"m/0008_service.sql":     {Data: []byte("CREATE TABLE b (v INTEGER);")},
		"m/0008_quota_lease.sql": {Data: []byte("CREATE TABLE c (v INTEGER);")},
	}
	_, err := Open(context.Background(), filepath.Join(t.TempDir(), "x.db"), fsys, "m")
	if err == nil || !strings.Contains(err.Error(), "share version 8") {
		t.Fatalf("err = %v, want the shared version named", err)
	}
}
