package sqlite

import (
	"context"
	"time"

	"github.com/engram-kb/engram"
)

// The work no tenant asks for: the sync schedule, the job gauges and the
// upkeep. These are the only statements that read across tenants (see
// engram.JobScheduler); each row they write names its tenant. A scheduler
// pass's transaction holds the one writer from its start, so no sync
// request, disconnect or PATCH interleaves with it: ConnectorsDue needs no
// lock.

// ConnectorsDue reads the due connectors.
func (e *executor) ConnectorsDue(ctx context.Context, now time.Time, limit int) ([]engram.DueConnector, error) {
	rs, err := query(ctx, e.q, "connectors.due",
		`SELECT c.tenant_id, c.id, c.sync_interval,
		        EXISTS (SELECT 1 FROM jobs j WHERE j.tenant_id = c.tenant_id AND j.connector_id = c.id
		                   AND j.kind = 'sync' AND j.status IN ('queued', 'running'))
		   FROM connectors c JOIN tenants t ON t.id = c.tenant_id AND t.is_active = 1
		  WHERE c.status = 'active' AND c.next_sync_at IS NOT NULL AND c.next_sync_at <= ?1
		  ORDER BY c.next_sync_at
		  LIMIT ?2`, fmtTime(now), limit)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var due []engram.DueConnector
	for rs.Next() {
		var d engram.DueConnector
		var secs int64
		if err := rs.Scan(&d.TenantID, &d.ID, &secs, &d.Busy); err != nil {
			return nil, translate(err)
		}
		d.Interval = time.Duration(secs) * time.Second
		due = append(due, d)
	}
	return due, translate(rs.Err())
}

// JobsInsertScheduled records the scheduled jobs from one JSON parameter.
func (e *executor) JobsInsertScheduled(ctx context.Context, jobs []engram.ScheduledSync, riverIDs []int64, at time.Time) (int, error) {
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
	b, err := jsonParam(rowsJSON)
	if err != nil {
		return 0, err
	}
	res, err := exec(ctx, e.q, "jobs.create_scheduled",
		`INSERT INTO jobs (tenant_id, id, kind, status, params, connector_id, river_job_id, created_at, updated_at)
		 SELECT value->>'t', value->>'j', 'sync', 'queued', value->>'p', value->>'c', value->>'r', ?2, ?2
		   FROM json_each(?1) WHERE true
		 ON CONFLICT (tenant_id, connector_id) WHERE kind = 'sync' AND status IN ('queued', 'running') DO NOTHING`,
		b, fmtTime(at))
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// ConnectorsReschedule moves the connectors' next syncs from one JSON
// parameter.
func (e *executor) ConnectorsReschedule(ctx context.Context, next []engram.NextSync) error {
	type row struct {
		T string `json:"t"`
		C string `json:"c"`
		N string `json:"n"`
	}
	rowsJSON := make([]row, len(next))
	for i, n := range next {
		rowsJSON[i] = row{n.TenantID, n.ConnectorID, fmtTime(n.At)}
	}
	b, err := jsonParam(rowsJSON)
	if err != nil {
		return err
	}
	_, err = exec(ctx, e.q, "connectors.reschedule",
		`WITH x AS MATERIALIZED (SELECT value->>'t' AS t, value->>'c' AS c, value->>'n' AS n FROM json_each(?1))
		 UPDATE connectors SET next_sync_at = x.n FROM x
		  WHERE connectors.tenant_id = x.t AND connectors.id = x.c`, b)
	return err
}

// JobActiveCounts counts queued and running jobs by kind and status.
func (e *executor) JobActiveCounts(ctx context.Context) ([]engram.JobCount, error) {
	rs, err := query(ctx, e.q, "jobs.active_counts",
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

// CountsLockCompaction needs no lock: the one writer serialises
// compactions (and SQLite has none to run).
func (e *executor) CountsLockCompaction(context.Context) (bool, error) { return true, nil }

// CountsCompact has nothing to fold on SQLite, whose triggers keep one
// row per bucket.
func (e *executor) CountsCompact(context.Context, int) (int, error) { return 0, nil }

// SyncNotesDropStale deletes the sync_seen rows of runs that started
// before before.
func (e *executor) SyncNotesDropStale(ctx context.Context, before time.Time) (int, error) {
	res, err := exec(ctx, e.q, "sync_seen.drop_stale", `DELETE FROM sync_seen WHERE run_id < ?`, engram.IDBefore(before))
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// JobsUnfinished lists queued and running jobs unchanged since before.
func (e *executor) JobsUnfinished(ctx context.Context, before time.Time, limit int) ([]engram.UnfinishedJob, error) {
	rs, err := query(ctx, e.q, "jobs.unfinished",
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

// StatisticsStale has nothing to report: engram never ANALYZEs its file,
// and without statistics SQLite's planner assumes an equality on an
// indexed column picks a few rows, so id lists always use the primary key.
func (e *executor) StatisticsStale(context.Context, int64) ([]string, error) { return nil, nil }

// StatisticsAnalyze has nothing to do (see StatisticsStale).
func (e *executor) StatisticsAnalyze(context.Context, string) error { return nil }

// JobsFail fails the unfinished jobs among jobs with one statement, and
// writes the failure on the connectors of the sync jobs among them with a
// second: SQLite has no writable CTE.
func (e *executor) JobsFail(ctx context.Context, jobs []engram.UnfinishedJob, message string, at time.Time) ([]engram.UnfinishedJob, error) {
	type key struct {
		T string `json:"t"`
		J string `json:"j"`
	}
	keys := make([]key, len(jobs))
	for i, j := range jobs {
		keys[i] = key{j.TenantID, j.ID}
	}
	b, err := jsonParam(keys)
	if err != nil {
		return nil, err
	}
	now := fmtTime(at)
	rs, err := query(ctx, e.q, "jobs.fail_many",
		`WITH x AS MATERIALIZED (SELECT value->>'t' AS t, value->>'j' AS j FROM json_each(?1))
		 UPDATE jobs SET status = 'failed', error = ?2, finished_at = ?3, updated_at = ?3
		   FROM x
		  WHERE jobs.tenant_id = x.t AND jobs.id = x.j AND jobs.status IN ('queued', 'running')
		 RETURNING jobs.tenant_id, jobs.id, jobs.kind, coalesce(jobs.river_job_id, 0), coalesce(jobs.connector_id, '')`,
		b, message, now)
	if err != nil {
		return nil, err
	}
	type conn struct {
		T string `json:"t"`
		C string `json:"c"`
	}
	var conns []conn
	var out []engram.UnfinishedJob
	for rs.Next() {
		var j engram.UnfinishedJob
		var kind, connectorID string
		if err := rs.Scan(&j.TenantID, &j.ID, &kind, &j.RiverJobID, &connectorID); err != nil {
			rs.Close()
			return nil, translate(err)
		}
		j.Kind = engram.JobKind(kind)
		out = append(out, j)
		if j.Kind == engram.JobSync && connectorID != "" {
			conns = append(conns, conn{j.TenantID, connectorID})
		}
	}
	rs.Close()
	if err := rs.Err(); err != nil || len(conns) == 0 {
		return out, translate(err)
	}
	cb, err := jsonParam(conns)
	if err != nil {
		return nil, err
	}
	_, err = exec(ctx, e.q, "connectors.record_failed_syncs",
		`WITH x AS MATERIALIZED (SELECT value->>'t' AS t, value->>'c' AS c FROM json_each(?1))
		 UPDATE connectors SET last_sync_at = ?3, last_sync_status = 'failed', last_sync_error = ?2, updated_at = ?3
		   FROM x WHERE connectors.tenant_id = x.t AND connectors.id = x.c`,
		cb, message, now)
	return out, err
}
