package postgres

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/engram-kb/engram"
)

// The work no tenant asks for: the sync schedule, the job gauges and the
// upkeep. These are the only statements that read across tenants (see
// engram.JobScheduler); each row they write names its tenant.

// ConnectorsDue reads and locks the due connectors FOR NO KEY UPDATE SKIP
// LOCKED: a connector whose row a sync batch, a manual sync request or a
// PATCH holds is left for the next pass rather than waited for, and a
// disconnect that commits first is seen (the status is checked again on
// the locked row). A manual sync that commits between this statement's
// snapshot and its lock finds its job by the jobs_one_sync index: the
// INSERT skips that connector (ON CONFLICT DO NOTHING), and its River
// job, which names no row, is cancelled by the worker.
func (e *executor) ConnectorsDue(ctx context.Context, now time.Time, limit int) ([]engram.DueConnector, error) {
	var due []engram.DueConnector
	err := e.run(ctx, "", func(q querier) error {
		rs, err := query(ctx, q, "connectors.due",
			`SELECT c.tenant_id::text, c.id::text, c.sync_interval,
			        EXISTS (SELECT 1 FROM jobs j WHERE j.tenant_id = c.tenant_id AND j.connector_id = c.id
			                   AND j.kind = 'sync' AND j.status IN ('queued', 'running'))
			   FROM connectors c JOIN tenants t ON t.id = c.tenant_id AND t.is_active
			  WHERE c.status = 'active' AND c.next_sync_at IS NOT NULL AND c.next_sync_at <= $1
			  ORDER BY c.next_sync_at
			  LIMIT $2
			    FOR NO KEY UPDATE OF c SKIP LOCKED`, ts(now), limit)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var d engram.DueConnector
			var secs int64
			if err := rs.Scan(&d.TenantID, &d.ID, &secs, &d.Busy); err != nil {
				return translate(err)
			}
			d.Interval = time.Duration(secs) * time.Second
			due = append(due, d)
		}
		return translate(rs.Err())
	})
	return due, err
}

// JobsInsertScheduled records the scheduled jobs from parallel arrays.
func (e *executor) JobsInsertScheduled(ctx context.Context, jobs []engram.ScheduledSync, riverIDs []int64, at time.Time) (int, error) {
	tenants, ids, conns, params := make([]string, len(jobs)), make([]string, len(jobs)), make([]string, len(jobs)), make([]string, len(jobs))
	for i, j := range jobs {
		tenants[i], ids[i], conns[i], params[i] = j.TenantID, j.Job.ID, j.ConnectorID, j.Params
	}
	var n int
	err := e.run(ctx, "", func(q querier) error {
		tag, err := exec(ctx, q, "jobs.create_scheduled",
			`INSERT INTO jobs (tenant_id, id, kind, status, params, connector_id, river_job_id, created_at, updated_at)
			 SELECT x.t, x.j, 'sync', 'queued', x.p::jsonb, x.c, x.r, $6, $6
			   FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::bigint[]) AS x(t, j, c, p, r)
			 ON CONFLICT (tenant_id, connector_id) WHERE kind = 'sync' AND status IN ('queued', 'running') DO NOTHING`,
			tenants, ids, conns, params, riverIDs, ts(at))
		n = int(tag.RowsAffected())
		return err
	})
	return n, err
}

// ConnectorsReschedule moves the connectors' next syncs from parallel
// arrays.
func (e *executor) ConnectorsReschedule(ctx context.Context, next []engram.NextSync) error {
	tenants, ids, at := make([]string, len(next)), make([]string, len(next)), make([]time.Time, len(next))
	for i, n := range next {
		tenants[i], ids[i], at[i] = n.TenantID, n.ConnectorID, ts(n.At)
	}
	return e.run(ctx, "", func(q querier) error {
		_, err := exec(ctx, q, "connectors.reschedule",
			`UPDATE connectors c SET next_sync_at = x.n
			   FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[]) AS x(t, id, n)
			  WHERE c.tenant_id = x.t AND c.id = x.id`, tenants, ids, at)
		return err
	})
}

// JobActiveCounts counts queued and running jobs by kind and status.
func (e *executor) JobActiveCounts(ctx context.Context) ([]engram.JobCount, error) {
	var out []engram.JobCount
	err := e.run(ctx, "", func(q querier) error {
		rs, err := query(ctx, q, "jobs.active_counts",
			`SELECT kind, status, count(*) FROM jobs WHERE status IN ('queued', 'running') GROUP BY kind, status`)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var kind, status string
			var n int
			if err := rs.Scan(&kind, &status, &n); err != nil {
				return translate(err)
			}
			out = append(out, engram.JobCount{Kind: engram.JobKind(kind), Status: engram.JobStatus(status), Count: n})
		}
		return translate(rs.Err())
	})
	return out, err
}

// countTables are the kept-count tables (migrations 00012 and 00013): the
// columns of a bucket and the summed ones.
var countTables = []struct{ table, keys, sums string }{
	{"document_counts", "is_deleted, status, classification, needs_review", "n, confidence_sum, confidence_n"},
	{"gap_counts", "status, category", "gaps, useful, not_useful, answers, verified_answers"},
}

// compactSQL folds the deltas of up to $1 tenants of one count table into
// one row per bucket, and returns how many tenants it took. A bucket whose
// sums are all zero goes, unless it is made only of deltas (see
// CompactCounts).
func compactSQL(table, keys, sums string) string {
	var sel, having []string
	for _, c := range strings.Split(sums, ", ") {
		sel = append(sel, "sum("+c+")")
		having = append(having, "sum("+c+") <> 0")
	}
	return `WITH t AS (SELECT DISTINCT tenant_id FROM ` + table + ` WHERE NOT compacted LIMIT $1),
	      moved AS (DELETE FROM ` + table + ` c USING t WHERE c.tenant_id = t.tenant_id RETURNING c.*),
	      folded AS (INSERT INTO ` + table + ` (tenant_id, ` + keys + `, ` + sums + `, compacted)
	                 SELECT tenant_id, ` + keys + `, ` + strings.Join(sel, ", ") + `, true
	                   FROM moved GROUP BY tenant_id, ` + keys + `
	                 HAVING ` + strings.Join(having, " OR ") + ` OR NOT bool_or(compacted)
	                 RETURNING 1)
	 SELECT count(*) FROM t`
}

// compactQueries are built once from countTables; no request value enters
// their text.
var compactQueries = func() []string {
	var out []string
	for _, c := range countTables {
		out = append(out, compactSQL(c.table, c.keys, c.sums))
	}
	return append(out, compactSearchTerms)
}()

// compactSearchTerms folds the deltas of search_terms (migration 00017)
// of up to $1 tenants, term by term: only the terms that have deltas are
// rewritten, not a tenant's whole vocabulary, and a term whose sums are
// zero goes (its counts carry nothing else).
const compactSearchTerms = `WITH t AS (SELECT DISTINCT tenant_id FROM search_terms WHERE NOT compacted LIMIT $1),
	      p AS (SELECT DISTINCT s.tenant_id, s.term FROM search_terms s JOIN t USING (tenant_id) WHERE NOT s.compacted),
	      moved AS (DELETE FROM search_terms c USING p WHERE c.tenant_id = p.tenant_id AND c.term = p.term RETURNING c.*),
	      folded AS (INSERT INTO search_terms (tenant_id, term, df, len, compacted)
	                 SELECT tenant_id, term, sum(df), sum(len), true FROM moved GROUP BY tenant_id, term
	                 HAVING sum(df) <> 0 OR sum(len) <> 0
	                 RETURNING 1)
	 SELECT count(*) FROM t`

// CountsLockCompaction takes the compaction's transaction advisory lock
// without waiting. One compaction runs at a time: two at once would each
// move part of a bucket, and a part whose counts sum to zero but which
// carries a confidence change must not be dropped (hence also the
// bool_or(compacted) guard of compactSQL, which keeps every row made only
// of deltas).
func (e *executor) CountsLockCompaction(ctx context.Context) (bool, error) {
	var mine bool
	err := e.run(ctx, "", func(q querier) error {
		return queryRow(ctx, q, "counts.lock",
			`SELECT pg_try_advisory_xact_lock(hashtextextended('engram.counts.compact', 0))`, nil, &mine)
	})
	return mine, err
}

// CountsCompact replaces the count rows of up to limit tenants that have
// deltas with one row per bucket, one statement per count table, and
// returns the most tenants one table had to fold. Rows a concurrent writer
// appends after a statement's snapshot stay for the next pass.
func (e *executor) CountsCompact(ctx context.Context, limit int) (int, error) {
	most := 0
	err := e.run(ctx, "", func(q querier) error {
		for i, sql := range compactQueries {
			var n int
			op := "search_terms.compact"
			if i < len(countTables) {
				op = countTables[i].table + ".compact"
			}
			if err := queryRow(ctx, q, op, sql, []any{limit}, &n); err != nil {
				return err
			}
			most = max(most, n)
		}
		return nil
	})
	return most, err
}

// SyncNotesDropStale deletes the sync_seen rows of runs that started
// before before.
func (e *executor) SyncNotesDropStale(ctx context.Context, before time.Time) (int, error) {
	var n int
	err := e.run(ctx, "", func(q querier) error {
		tag, err := exec(ctx, q, "sync_seen.drop_stale", `DELETE FROM sync_seen WHERE run_id < $1`, engram.IDBefore(before))
		n = int(tag.RowsAffected())
		return err
	})
	return n, err
}

// JobsUnfinished lists queued and running jobs unchanged since before.
func (e *executor) JobsUnfinished(ctx context.Context, before time.Time, limit int) ([]engram.UnfinishedJob, error) {
	var out []engram.UnfinishedJob
	err := e.run(ctx, "", func(q querier) error {
		rs, err := query(ctx, q, "jobs.unfinished",
			`SELECT tenant_id::text, id::text, kind, coalesce(river_job_id, 0) FROM jobs
			  WHERE status IN ('queued', 'running') AND updated_at < $1
			  ORDER BY updated_at LIMIT $2`, ts(before), limit)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var j engram.UnfinishedJob
			var kind string
			if err := rs.Scan(&j.TenantID, &j.ID, &kind, &j.RiverJobID); err != nil {
				return translate(err)
			}
			j.Kind = engram.JobKind(kind)
			out = append(out, j)
		}
		return translate(rs.Err())
	})
	return out, err
}

// statTables are the tables whose statistics decide the plans of the id
// list and tenant statements.
var statTables = []string{"documents", "document_chunks", "deleted_documents", "knowledge_gaps"}

// StatisticsStale finds the statTables with more than minChanges changes
// since they were last analyzed. A tenant that grew from nothing to
// 100,000 documents since the last ANALYZE is otherwise estimated at a few
// hundred rows, and a bulk request of 1,000 ids then reads the whole
// tenant through a hash join instead of 1,000 primary key lookups (seen in
// engram bench: 150 ms instead of 50).
func (e *executor) StatisticsStale(ctx context.Context, minChanges int64) ([]string, error) {
	var stale []string
	err := e.run(ctx, "", func(q querier) error {
		rs, err := query(ctx, q, "statistics.stale",
			`SELECT relname::text FROM pg_stat_user_tables
			  WHERE schemaname = current_schema() AND relname = ANY($1) AND n_mod_since_analyze > $2
			  ORDER BY relname`, statTables, minChanges)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var t string
			if err := rs.Scan(&t); err != nil {
				return translate(err)
			}
			stale = append(stale, t)
		}
		return translate(rs.Err())
	})
	return stale, err
}

// StatisticsAnalyze ANALYZEs one of statTables. ANALYZE samples a fixed
// number of rows, so it costs about the same at any size; it waits at most
// two seconds for its lock (autovacuum may be analyzing the same table).
func (e *executor) StatisticsAnalyze(ctx context.Context, table string) error {
	if !slices.Contains(statTables, table) {
		// Only names from the fixed list reach the statement.
		return engram.Errorf(engram.EInvalid, "%q is not a table whose statistics engram refreshes", table)
	}
	return e.run(ctx, "", func(q querier) error {
		if _, err := exec(ctx, q, "statistics.lock_timeout", `SET LOCAL lock_timeout = '2s'`); err != nil {
			return err
		}
		_, err := exec(ctx, q, "statistics.analyze", `ANALYZE `+table)
		return err
	})
}

// JobsFail fails the unfinished jobs among jobs in one statement, which
// also writes the failure on the connectors of the sync jobs among them.
func (e *executor) JobsFail(ctx context.Context, jobs []engram.UnfinishedJob, message string, at time.Time) ([]engram.UnfinishedJob, error) {
	tenants, ids := make([]string, len(jobs)), make([]string, len(jobs))
	for i, j := range jobs {
		tenants[i], ids[i] = j.TenantID, j.ID
	}
	var out []engram.UnfinishedJob
	err := e.run(ctx, "", func(q querier) error {
		rs, err := query(ctx, q, "jobs.fail_many",
			`WITH f AS (
			     UPDATE jobs j SET status = 'failed', error = $3, finished_at = $4, updated_at = $4
			       FROM unnest($1::uuid[], $2::uuid[]) AS x(t, id)
			      WHERE j.tenant_id = x.t AND j.id = x.id AND j.status IN ('queued', 'running')
			     RETURNING j.tenant_id, j.id, j.kind, j.connector_id, coalesce(j.river_job_id, 0) AS river_job_id),
			  c AS (
			     UPDATE connectors c SET last_sync_at = $4, last_sync_status = 'failed', last_sync_error = $3, updated_at = $4
			       FROM f WHERE f.kind = 'sync' AND c.tenant_id = f.tenant_id AND c.id = f.connector_id)
			 SELECT tenant_id::text, id::text, kind, river_job_id FROM f`,
			tenants, ids, message, ts(at))
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var j engram.UnfinishedJob
			var kind string
			if err := rs.Scan(&j.TenantID, &j.ID, &kind, &j.RiverJobID); err != nil {
				return translate(err)
			}
			j.Kind = engram.JobKind(kind)
			out = append(out, j)
		}
		return translate(rs.Err())
	})
	return out, err
}
