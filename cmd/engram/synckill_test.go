package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/engram-kb/engram"
)

// The sync kill test: a real `engram serve` is killed with SIGKILL at
// random points of a full sync of a 3,000-message Maildir, twice, and
// stopped once with SIGTERM; each time it is started again, the sync
// reads on from the cursor of its last committed batch, and in the end
// every message is imported exactly once.

const (
	syncMessages = 3000
	// syncRepeats of the last messages reuse the Message-IDs of the
	// first ones with other text: each must keep its "#" id although the
	// message it repeats was read by a process that is gone.
	syncRepeats = 10
)

// writeMaildir writes the messages into dir/cur, one file each, named in
// walk order.
func writeMaildir(t *testing.T, dir string) {
	t.Helper()
	cur := filepath.Join(dir, "cur")
	if err := os.MkdirAll(cur, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range syncMessages {
		id := i
		if i >= syncMessages-syncRepeats {
			id = i - (syncMessages - syncRepeats)
		}
		msg := fmt.Sprintf("From: Ann <ann@example.com>\nTo: bob@example.com\nDate: Tue, 1 Oct 2002 10:00:00 +0200\n"+
			"Message-ID: <m%d@example.com>\nSubject: message %d\n\nThe text of message %d.\n", id, i, i)
		if err := os.WriteFile(filepath.Join(cur, fmt.Sprintf("%05d:2,S", i)), []byte(msg), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSyncSurvivesKill(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("kills a server several times; skipped with -short")
	}
	for engine, db := range databases(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			if out, errOut, err := runEngram(t, "migrate", "up", "--db", db); err != nil {
				t.Fatalf("migrate up: %v\n%s%s", err, out, errOut)
			}
			ctx := context.Background()
			d := dbFlags{url: db, maxConns: 2}
			st, err := d.open(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			tn, key, err := st.CreateTenant(ctx, "Acme", "acme")
			if err != nil {
				t.Fatal(err)
			}
			// Connector roots are per tenant: tenant acme reads ROOT/acme.
			root := t.TempDir()
			maildir := filepath.Join(root, "acme", "mail")
			writeMaildir(t, maildir)
			settings, _ := json.Marshal(map[string]string{"path": maildir})
			c, err := st.CreateConnector(ctx, tn.ID, "", "mail", "mail", settings, 0)
			if err != nil {
				t.Fatal(err)
			}
			admin := key.Secret

			srv := startServe(t, db, "--connector-roots", root)
			defer func() { srv.cmd.Process.Kill() }()
			sync := "/api/integrations/" + c.ID + "/sync"
			code, m := call(t, "POST", srv.base+sync, admin, `{"full_sync":true}`)
			if code != 202 {
				t.Fatalf("sync: %d %v", code, m)
			}
			id := m["job_id"].(string)
			start := time.Now()

			// Kill it twice, each time some way into a batch after a
			// random one, and stop it once gracefully in between.
			batch := engram.DefaultSyncBatch
			for _, stop := range []struct {
				at   int
				kill bool
			}{{batch * (1 + rand.IntN(2)), true}, {batch * 3, false}, {batch * 4, true}} {
				done := waitProgress(t, srv, admin, id, stop.at)
				time.Sleep(time.Duration(rand.IntN(150)) * time.Millisecond)
				if stop.kill {
					srv.kill(t)
				} else {
					if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
						t.Fatal(err)
					}
					select {
					case err := <-srv.done:
						if err != nil {
							t.Fatalf("serve exited with %v after SIGTERM:\n%s", err, srv.log())
						}
					case <-time.After(25 * time.Second):
						t.Fatalf("serve did not stop within 25s of SIGTERM:\n%s", srv.log())
					}
				}
				killed := time.Now()
				srv = startServe(t, db, "--connector-roots", root)
				status, after, _, _ := jobState(t, srv, admin, id)
				if status != "running" || after < done {
					t.Fatalf("after restart the sync is %s at %d done (was %d)", status, after, done)
				}
				// Its worker is gone but not long enough to be given up
				// on: a second sync is still refused, with its id.
				if code, m := call(t, "POST", srv.base+sync, admin, `{}`); code != 409 || m["job_id"] != id {
					t.Fatalf("second sync after restart: %d %v", code, m)
				}
				deadline := time.Now().Add(time.Minute)
				for {
					status, now, _, _ := jobState(t, srv, admin, id)
					if now > after || status != "running" {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("sync did not resume within a minute of restart:\n%s", srv.log())
					}
					time.Sleep(20 * time.Millisecond)
				}
				t.Logf("%s: stopped at %d done (kill %v), resumed %v after", engine, done, stop.kill, time.Since(killed).Round(time.Millisecond))
			}
			restarted := time.Now()
			var status string
			var done int
			var result map[string]any
			for {
				status, done, _, result = jobState(t, srv, admin, id)
				if status != "queued" && status != "running" {
					break
				}
				if time.Since(restarted) > time.Minute {
					t.Fatalf("sync did not finish within a minute of the last restart:\n%s", srv.log())
				}
				time.Sleep(20 * time.Millisecond)
			}
			t.Logf("%s: sync finished %v after it was asked for: %v", engine, time.Since(start).Round(time.Millisecond), result)
			// Resumed from its cursors, it saw each message once: nothing
			// was read twice (unchanged) or left out.
			if status != "succeeded" || done != syncMessages || result["created"] != float64(syncMessages) ||
				result["unchanged"] != float64(0) || result["failed"] != float64(0) || result["missing_at_source"] != float64(0) {
				t.Fatalf("sync = %s %d %v", status, done, result)
			}
			counts, err := st.TenantCounts(ctx, tn.ID)
			if err != nil {
				t.Fatal(err)
			}
			if counts.Documents != syncMessages || counts.SoftDeleted != 0 {
				t.Fatalf("tenant after the sync: %+v; want %d documents", counts, syncMessages)
			}
			ids := map[string]bool{}
			repeats := 0
			f := engram.DocumentFilter{ConnectorID: &c.ID, Limit: engram.MaxListLimit, Sort: engram.SortCreatedAt}
			for {
				page, err := st.ListDocuments(ctx, tn.ID, f)
				if err != nil {
					t.Fatal(err)
				}
				for _, d := range page.Documents {
					if d.ExternalID == nil || ids[*d.ExternalID] {
						t.Fatalf("document %s: external id %v missing or repeated", d.ID, d.ExternalID)
					}
					ids[*d.ExternalID] = true
					if len(*d.ExternalID) > 0 && (*d.ExternalID)[len(*d.ExternalID)-13] == '#' {
						repeats++
					}
				}
				if !page.HasMore {
					break
				}
				if f.Cursor, err = engram.DecodeCursor(page.NextCursor, f.Sort, f.Desc); err != nil {
					t.Fatal(err)
				}
			}
			if len(ids) != syncMessages || repeats != syncRepeats {
				t.Fatalf("%d distinct external ids (%d with '#'), want %d (%d)", len(ids), repeats, syncMessages, syncRepeats)
			}
			srv.cmd.Process.Signal(syscall.SIGTERM)
			<-srv.done
		})
	}
}
