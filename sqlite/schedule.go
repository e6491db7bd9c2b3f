package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/engram-kb/engram"
)

// The work no tenant asks for: the sync schedule and the job gauges. These
// are the only statements that read across tenants (see
// engram.JobScheduler); each row they write names its tenant.

// enqueueOne hands one job to River.
func (s *Store) enqueueOne(ctx context.Context, tx *sql.Tx, tenantID string, j engram.Job) (int64, error) {
	ids, err := s.enqueue(ctx, tx, []engram.TenantJob{{TenantID: tenantID, Job: j}})
	if err != nil {
		return 0, err
	}
	return ids[0], nil
}

// ScheduleSyncs starts the due connectors' scheduled syncs in one
// transaction: one statement finds the due connectors, River takes all
// their jobs in one insert, one statement records the jobs and one moves
// the connectors' next_sync_at. The transaction holds the one writer from
// its start, so no sync request, disconnect or PATCH interleaves with it;
// the ON CONFLICT on the jobs_one_sync index is a second guard.
func (s *Store) ScheduleSyncs(ctx context.Context, now time.Time, limit int) (engram.ScheduledSyncs, error) {
	var out engram.ScheduledSyncs
	if s.enqueue == nil {
		return out, engram.Errorf(engram.EUnavailable, "background jobs are not running on this server")
	}
	nowText := fmtTime(now)
	now = parseTime(nowText)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		out = engram.ScheduledSyncs{}
		rs, err := query(ctx, tx, "connectors.due",
			`SELECT c.tenant_id, c.id, c.sync_interval,
			        EXISTS (SELECT 1 FROM jobs j WHERE j.tenant_id = c.tenant_id AND j.connector_id = c.id
			                   AND j.kind = 'sync' AND j.status IN ('queued', 'running'))
			   FROM connectors c JOIN tenants t ON t.id = c.tenant_id AND t.is_active = 1
			  WHERE c.status = 'active' AND c.next_sync_at IS NOT NULL AND c.next_sync_at <= ?1
			  ORDER BY c.next_sync_at
			  LIMIT ?2`, nowText, limit)
		if err != nil {
			return err
		}
		var due []engram.DueConnector
		for rs.Next() {
			var d engram.DueConnector
			var secs int64
			if err := rs.Scan(&d.TenantID, &d.ID, &secs, &d.Busy); err != nil {
				rs.Close()
				return translate(err)
			}
			d.Interval = time.Duration(secs) * time.Second
			due = append(due, d)
		}
		rs.Close()
		if err := rs.Err(); err != nil || len(due) == 0 {
			return translate(err)
		}
		out.Due = len(due)
		if jobs := engram.PlanScheduledSyncs(due, now); len(jobs) > 0 {
			riverIDs, err := s.enqueue(ctx, tx, engram.TenantJobs(jobs))
			if err != nil {
				return err
			}
			type row struct {
				T string `json:"t"`
				J string `json:"j"`
				C string `json:"c"`
				P string `json:"p"`
				R int64  `json:"r"`
			}
			rowsJSON := make([]row, len(jobs))
			for i, j := range jobs {
				rowsJSON[i] = row{j.TenantID, j.Job.ID, j.ConnectorID, j.Params, riverIDs[i]}
			}
			b, _ := json.Marshal(rowsJSON)
			res, err := exec(ctx, tx, "jobs.create_scheduled",
				`INSERT INTO jobs (tenant_id, id, kind, status, params, connector_id, river_job_id, created_at, updated_at)
				 SELECT value->>'t', value->>'j', 'sync', 'queued', value->>'p', value->>'c', value->>'r', ?2, ?2
				   FROM json_each(?1) WHERE true
				 ON CONFLICT (tenant_id, connector_id) WHERE kind = 'sync' AND status IN ('queued', 'running') DO NOTHING`,
				string(b), nowText)
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			out.Enqueued = int(n)
		}
		type next struct {
			T string `json:"t"`
			C string `json:"c"`
			N string `json:"n"`
		}
		nexts := make([]next, len(due))
		for i, d := range due {
			nexts[i] = next{d.TenantID, d.ID, fmtTime(now.Add(d.Interval))}
		}
		b, _ := json.Marshal(nexts)
		_, err = exec(ctx, tx, "connectors.reschedule",
			`WITH x AS MATERIALIZED (SELECT value->>'t' AS t, value->>'c' AS c, value->>'n' AS n FROM json_each(?1))
			 UPDATE connectors SET next_sync_at = x.n FROM x
			  WHERE connectors.tenant_id = x.t AND connectors.id = x.c`, string(b))
		return err
	})
	return out, err
}

// ActiveJobCounts counts queued and running jobs by kind and status.
func (s *Store) ActiveJobCounts(ctx context.Context) ([]engram.JobCount, error) {
	rs, err := query(ctx, s.read, "jobs.active_counts",
		`SELECT kind, status, count(*) FROM jobs WHERE status IN ('queued', 'running') GROUP BY kind, status`)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []engram.JobCount
	for rs.Next() {
		var kind, status string
		var n int
		if err := rs.Scan(&kind, &status, &n); err != nil {
			return nil, translate(err)
		}
		out = append(out, engram.JobCount{Kind: engram.JobKind(kind), Status: engram.JobStatus(status), Count: n})
	}
	return out, translate(rs.Err())
}

// CompactCounts has nothing to fold on SQLite, whose triggers keep one
// row per bucket.
func (s *Store) CompactCounts(context.Context, int) (int, error) { return 0, nil }

// DropStaleSyncNotes deletes the sync_seen rows of runs that started before
// before. It reads the whole (normally near empty) table: the scheduler
// calls it once an hour.
func (s *Store) DropStaleSyncNotes(ctx context.Context, before time.Time) (int, error) {
	res, err := exec(ctx, s.write, "sync_seen.drop_stale", `DELETE FROM sync_seen WHERE run_id < ?`, engram.IDBefore(before))
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// UnfinishedJobs lists queued and running jobs unchanged since before.
func (s *Store) UnfinishedJobs(ctx context.Context, before time.Time, limit int) ([]engram.UnfinishedJob, error) {
	rs, err := query(ctx, s.read, "jobs.unfinished",
		`SELECT tenant_id, id, kind, coalesce(river_job_id, 0) FROM jobs
		  WHERE status IN ('queued', 'running') AND updated_at < ?
		  ORDER BY updated_at LIMIT ?`, fmtTime(before), limit)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []engram.UnfinishedJob
	for rs.Next() {
		var j engram.UnfinishedJob
		var kind string
		if err := rs.Scan(&j.TenantID, &j.ID, &kind, &j.RiverJobID); err != nil {
			return nil, translate(err)
		}
		j.Kind = engram.JobKind(kind)
		out = append(out, j)
	}
	return out, translate(rs.Err())
}

// RefreshStatistics has nothing to do on SQLite: engram never ANALYZEs its
// file, and without statistics SQLite's planner assumes an equality on an
// indexed column picks a few rows, so id lists always use the primary key.
func (s *Store) RefreshStatistics(context.Context, int64) ([]string, error) { return nil, nil }

// FailJobs fails the unfinished jobs among jobs with one statement, and
// writes the failure on the connectors of the sync jobs among them with a
// second.
func (s *Store) FailJobs(ctx context.Context, jobs []engram.UnfinishedJob, message string) ([]engram.UnfinishedJob, error) {
	if len(jobs) == 0 {
		return nil, nil
	}
	type key struct {
		T string `json:"t"`
		J string `json:"j"`
	}
	keys := make([]key, len(jobs))
	for i, j := range jobs {
		keys[i] = key{j.TenantID, j.ID}
	}
	b, _ := json.Marshal(keys)
	now := s.nowText()
	var out []engram.UnfinishedJob
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		rs, err := query(ctx, tx, "jobs.fail_many",
			`WITH x AS MATERIALIZED (SELECT value->>'t' AS t, value->>'j' AS j FROM json_each(?1))
			 UPDATE jobs SET status = 'failed', error = ?2, finished_at = ?3, updated_at = ?3
			   FROM x
			  WHERE jobs.tenant_id = x.t AND jobs.id = x.j AND jobs.status IN ('queued', 'running')
			 RETURNING jobs.tenant_id, jobs.id, jobs.kind, coalesce(jobs.river_job_id, 0), coalesce(jobs.connector_id, '')`,
			string(b), message, now)
		if err != nil {
			return err
		}
		type conn struct {
			T string `json:"t"`
			C string `json:"c"`
		}
		var conns []conn
		for rs.Next() {
			var j engram.UnfinishedJob
			var kind, connectorID string
			if err := rs.Scan(&j.TenantID, &j.ID, &kind, &j.RiverJobID, &connectorID); err != nil {
				rs.Close()
				return translate(err)
			}
			j.Kind = engram.JobKind(kind)
			out = append(out, j)
			if j.Kind == engram.JobSync && connectorID != "" {
				conns = append(conns, conn{j.TenantID, connectorID})
			}
		}
		rs.Close()
		if err := rs.Err(); err != nil || len(conns) == 0 {
			return translate(err)
		}
		cb, _ := json.Marshal(conns)
		_, err = exec(ctx, tx, "connectors.record_failed_syncs",
			`WITH x AS MATERIALIZED (SELECT value->>'t' AS t, value->>'c' AS c FROM json_each(?1))
			 UPDATE connectors SET last_sync_at = ?3, last_sync_status = 'failed', last_sync_error = ?2, updated_at = ?3
			   FROM x WHERE connectors.tenant_id = x.t AND connectors.id = x.c`,
			string(cb), message, now)
		return err
	})
	return out, err
}
