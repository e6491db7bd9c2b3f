package engram

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"time"
)

// JobKind is what a background job does.
type JobKind string

// Job kinds.
const (
	// JobDeleteAll deletes every document a tenant had when it was asked.
	JobDeleteAll JobKind = "delete_all"
	// JobClassifyPending classifies every document that was pending when
	// it was asked.
	JobClassifyPending JobKind = "classify_pending"
	// JobSync fetches a connector's source and runs it through the sync
	// pipeline.
	JobSync JobKind = "sync"
	// JobAnalyzeGaps runs RunGapAnalysis over the tenant's work documents.
	JobAnalyzeGaps JobKind = "analyze_gaps"
)

// JobKinds lists every kind.
var JobKinds = []JobKind{JobDeleteAll, JobClassifyPending, JobSync, JobAnalyzeGaps}

// JobStatus is where a job is in its life.
type JobStatus string

// Job statuses. A job starts queued, runs, and ends in one of the last
// three, which are final.
const (
	JobQueued    JobStatus = "queued"
	JobRunning   JobStatus = "running"
	JobSucceeded JobStatus = "succeeded"
	JobFailed    JobStatus = "failed"
	JobCancelled JobStatus = "cancelled"
)

// JobStatuses lists every status.
var JobStatuses = []JobStatus{JobQueued, JobRunning, JobSucceeded, JobFailed, JobCancelled}

// Final reports whether a job in status s will not change again.
func (s JobStatus) Final() bool {
	return s == JobSucceeded || s == JobFailed || s == JobCancelled
}

// JobProgress counts a job's work: Total is fixed when the job is
// requested, Done grows batch by batch in the same transaction as the
// batch's work, so it never runs ahead of or behind what is committed.
type JobProgress struct {
	Done  int `json:"done"`
	Total int `json:"total"`
}

// Job is a tenant's background job as the API reports it. The row lives in
// the database, so any API process can report a job any worker runs.
type Job struct {
	ID                string          `json:"id"`
	Kind              JobKind         `json:"kind"`
	Status            JobStatus       `json:"status"`
	Progress          JobProgress     `json:"progress"`
	Result            json.RawMessage `json:"result"`
	Error             *string         `json:"error"`
	CreatedAt         time.Time       `json:"created_at"`
	StartedAt         *time.Time      `json:"started_at"`
	FinishedAt        *time.Time      `json:"finished_at"`
	CancelRequestedAt *time.Time      `json:"cancel_requested_at"`
	// ConnectorID names a sync job's connector.
	ConnectorID *string `json:"connector_id,omitempty"`
	// Scheduled is true for a sync its connector's sync_interval started.
	Scheduled bool `json:"scheduled,omitempty"`
	// Params is what the job keeps of its request, for the worker.
	Params JobParams `json:"-"`
}

// DefaultJobBatchSize is how many documents one batch of a job handles.
const DefaultJobBatchSize = 1000

// JobRequest asks for a job.
type JobRequest struct {
	Kind JobKind
	// Hard makes a delete-all hard (tombstones, no undo) instead of soft.
	Hard bool
	// BatchSize is the documents per batch (default DefaultJobBatchSize).
	BatchSize int
	// AutoConfirmThreshold and Settings are a classify job's options.
	AutoConfirmThreshold *float64
	Settings             json.RawMessage
	// ConnectorID is the connector a sync job fetches, or whose documents
	// a (hard) delete-all deletes.
	ConnectorID string
	// Full makes a sync job a full sync (see ingest.Options.Full).
	Full bool
	// MaxDocuments bounds a gap analysis (default DefaultAnalysisDocuments).
	MaxDocuments int
}

// JobParams is what a job keeps of its request, as stored with it. Bound is
// the snapshot of the target set: the largest document id the tenant had
// when the job was requested (see EnqueueJob). Ids are UUIDv7: time-ordered
// and strictly increasing within a process, so a document created after
// the request gets a larger id and survives. The bound is read from the
// database rather than made from the clock, so every document that
// existed is a target even if another process's clock ran ahead. The one
// gap: a document created later by a process whose clock is behind this
// one's by more than the time since the newest existing id could get an
// id below the bound. A sequence column would close it at the cost of
// rewriting the documents table; keyset batches by id need no new index.
type JobParams struct {
	Hard                 bool            `json:"hard,omitempty"`
	BatchSize            int             `json:"batch_size"`
	Bound                string          `json:"bound"`
	AutoConfirmThreshold *float64        `json:"auto_confirm_threshold,omitempty"`
	Settings             json.RawMessage `json:"settings,omitempty"`
	ConnectorID          string          `json:"connector_id,omitempty"`
	Full                 bool            `json:"full,omitempty"`
	MaxDocuments         int             `json:"max_documents,omitempty"`
	// Actor is the key that asked for an analysis, which its gaps name.
	Actor string `json:"actor,omitempty"`
	// Scheduled marks a sync started by the connector's sync_interval
	// rather than by a person.
	Scheduled bool `json:"scheduled,omitempty"`
}

// DeleteAllResult is the result of a delete-all job.
type DeleteAllResult struct {
	Hard       bool `json:"hard"`
	Deleted    int  `json:"deleted"`
	Tombstoned int  `json:"tombstoned"`
}

// ClassifyJobResult is the result of a classify job.
type ClassifyJobResult struct {
	Classified    int                    `json:"classified"`
	ByClass       map[Classification]int `json:"by_class"`
	AutoConfirmed int                    `json:"auto_confirmed"`
	NeedsReview   int                    `json:"needs_review"`
}

// JobFilter selects a page of a tenant's jobs, newest first.
type JobFilter struct {
	Kind   *JobKind
	Status *JobStatus
	Limit  int
	Cursor *JobCursor
}

// JobPage is one page of jobs.
type JobPage struct {
	Jobs       []Job
	HasMore    bool
	NextCursor string
}

// JobCursor is a keyset position in the newest-first job list.
type JobCursor struct {
	CreatedAt time.Time `json:"c"`
	ID        string    `json:"i"`
}

// Encode returns the opaque text form of c.
func (c JobCursor) Encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeJobCursor parses an opaque job cursor.
func DecodeJobCursor(s string) (*JobCursor, error) {
	var c JobCursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &c) != nil {
		return nil, Errorf(EInvalid, "cursor: not a cursor returned by this list; start again without it")
	}
	if _, ok := ParseID(c.ID); !ok {
		return nil, Errorf(EInvalid, "cursor: not a cursor returned by this list; start again without it")
	}
	return &c, nil
}

// JobEnqueuer hands new jobs to the job engine inside the transaction
// that records them, so the job rows and the engine's jobs commit or roll
// back together, in one statement however many there are. TTx is the
// engine's transaction type. It returns the engine's id for each job, in
// order.
type JobEnqueuer[TTx any] func(ctx context.Context, tx TTx, jobs []TenantJob) ([]int64, error)

// TenantJob is a job with its tenant, as the job engine carries it.
type TenantJob struct {
	TenantID string
	Job      Job
}

// ScheduledSyncs is what one pass of the sync scheduler did.
type ScheduledSyncs struct {
	// Due is how many connectors were due; Enqueued how many of them got a
	// sync job. The others already had a sync queued or running, which
	// stands in for the scheduled one.
	Due      int `json:"due"`
	Enqueued int `json:"enqueued"`
}

// JobCount is how many jobs of a kind are in a status, across tenants.
type JobCount struct {
	Kind   JobKind
	Status JobStatus
	Count  int
}

// JobScheduler is the store's side of the work no tenant asks for: the
// sync schedule and the job gauges. Its methods read across tenants (the
// one deliberate exception to "every query names its tenant", as
// authentication is); every row they write still names its tenant.
type JobScheduler interface {
	// ScheduleSyncs finds up to limit active connectors, of any active tenant,
	// whose next_sync_at is at or before now; enqueues a sync job (with
	// params.scheduled) for each that has no sync queued or running; and
	// moves each one's next_sync_at one interval past now. One
	// transaction of a fixed number of statements however many are due;
	// a connector another transaction holds is left for the next pass.
	ScheduleSyncs(ctx context.Context, now time.Time, limit int) (ScheduledSyncs, error)
	// ActiveJobCounts counts the queued and running jobs by kind and
	// status, in one statement over the jobs_active index.
	ActiveJobCounts(ctx context.Context) ([]JobCount, error)
	// CompactCounts folds the deltas of the kept document and gap counts
	// of up to limit tenants into one row per bucket, in one statement per
	// count table, and returns how many tenants it compacted (engines that
	// keep no deltas return 0). The stats read every row of a tenant's
	// counts, so this keeps them reading a few dozen.
	CompactCounts(ctx context.Context, limit int) (int, error)
	// DropStaleSyncNotes deletes what full syncs that started before
	// before noted as seen (sync_seen rows, whose run ids are UUIDv7s):
	// a run that ends drops its own notes, one whose process died leaves
	// them. One statement; returns the rows deleted.
	DropStaleSyncNotes(ctx context.Context, before time.Time) (int, error)
	// UnfinishedJobs returns up to limit queued or running jobs of every
	// tenant that have not changed since before, oldest change first, with
	// their job engine ids, in one statement: the scheduler checks them
	// against the job engine.
	UnfinishedJobs(ctx context.Context, before time.Time, limit int) ([]UnfinishedJob, error)
	// FailJobs finishes the given jobs as failed with message, those still
	// unfinished, and records a sync's failure on its connector, in one
	// transaction of a fixed number of statements however many there are.
	// Returns the jobs it changed.
	FailJobs(ctx context.Context, jobs []UnfinishedJob, message string) ([]UnfinishedJob, error)
	// RefreshStatistics re-analyzes the big tables that have seen more
	// than minChanges row changes since their last analysis, so that the
	// planner knows a tenant that grew fast (a first import), whatever the
	// database's autovacuum settings. Returns the tables analyzed; engines
	// whose planner keeps no statistics return none.
	RefreshStatistics(ctx context.Context, minChanges int64) ([]string, error)
}

// JobStore keeps background jobs and runs their batches. A batch is one
// short transaction that does its share of the work and advances the job's
// progress and cursor, so a crash between batches neither repeats nor
// skips work, and a job running twice at once (a rescued job whose first
// worker still lives) takes turns batch by batch.
type JobStore interface {
	// EnqueueJob records a job and hands it to the job engine in one
	// transaction. A delete-all while another one of the tenant is queued
	// or running returns conflict with Details["job_id"] = the running
	// job's id. Returns invalid_argument, conflict or unavailable (no job
	// engine is attached).
	EnqueueJob(ctx context.Context, tenantID, actorKeyID string, req JobRequest) (Job, error)
	// GetJob returns one job of the tenant. Returns not_found.
	GetJob(ctx context.Context, tenantID, id string) (Job, error)
	// ListJobs returns the tenant's jobs, newest first.
	ListJobs(ctx context.Context, tenantID string, f JobFilter) (JobPage, error)
	// CancelJob asks a job to stop: a queued job is cancelled at once, a
	// running one at its next batch boundary, and a running sync whose
	// worker is gone (no heartbeat for JobStaleAfter) at once. Cancelling
	// a finished job changes nothing. Returns not_found.
	CancelJob(ctx context.Context, tenantID, id string) (Job, error)

	// StartJob marks a queued job running (a running one stays running, as
	// after a crash) and returns it. Returns not_found.
	StartJob(ctx context.Context, tenantID, id string) (Job, error)
	// StartSyncJob is StartJob for a sync, returning the job with the
	// cursor its last committed batch recorded ("" for none): a sync that
	// runs again after a crash, a retry or a pause reads on from there.
	// Returns not_found.
	StartSyncJob(ctx context.Context, tenantID, id string) (JobRecord, error)
	// HeartbeatJob notes that a running job's worker is alive (see
	// JobStaleAfter). Returns only the engine's errors.
	HeartbeatJob(ctx context.Context, tenantID, id string) error
	// RunJobBatch runs the job's next batch and returns the job as it is
	// after it; its status is final when there was nothing left to do or a
	// cancel was asked for. A delete-all batch is one transaction; a
	// classify batch reads, classifies with no transaction open, then
	// writes its guarded verdicts and the job's progress in one
	// transaction. classifier is used by classify jobs only, with the
	// tenant settings the job was requested with. Returns not_found or the
	// classifier's error.
	RunJobBatch(ctx context.Context, tenantID, id string, classifier Classifier) (Job, error)
	// FailJob marks an unfinished job failed with a message for the user.
	FailJob(ctx context.Context, tenantID, id, message string) error

	// RecordJobProgress sets a running job's progress and (when not nil)
	// result, for a job whose work is not a store batch (a gap analysis),
	// and returns the job, so the worker sees a cancel request. A sync's
	// batches record theirs in their own transactions (SyncOptions.Job).
	// Returns not_found.
	RecordJobProgress(ctx context.Context, tenantID, id string, progress JobProgress, result json.RawMessage) (Job, error)
	// FinishJob ends an unfinished job with status (succeeded, failed or
	// cancelled), its result and, for failed, a message. A sync job also
	// records the outcome on its connector (last_sync_at, _status,
	// _error) in the same transaction. Returns not_found.
	FinishJob(ctx context.Context, tenantID, id string, status JobStatus, result json.RawMessage, message *string) (Job, error)
	// LatestConnectorJob returns the newest job of kind for a connector,
	// or nil when there is none.
	LatestConnectorJob(ctx context.Context, tenantID, connectorID string, kind JobKind) (*Job, error)
}

// UnfinishedJob is a queued or running job and its job engine id (0 when
// it has none).
type UnfinishedJob struct {
	TenantID   string
	ID         string
	Kind       JobKind
	RiverJobID int64
}

// TenantCounts are the raw row counts of one tenant, for operators and
// tests that check what a bulk job left behind.
type TenantCounts struct {
	Documents    int `json:"documents"`
	SoftDeleted  int `json:"soft_deleted"`
	Chunks       int `json:"chunks"`
	OrphanChunks int `json:"orphan_chunks"`
	Tombstones   int `json:"tombstones"`
	// TombstonedDocuments counts documents rows whose connector and
	// external id also have a tombstone: always 0, since deleting an
	// item tombstones it and a tombstoned item is never brought back.
	TombstonedDocuments int `json:"tombstoned_documents"`
}

// DeleteAllConflict is the conflict EnqueueJob returns for a second
// delete-all.
func DeleteAllConflict(runningID string) *Error {
	return &Error{Code: EConflict, Message: "a delete-all of this tenant is already queued or running; watch it at /api/jobs/" + runningID,
		Details: map[string]any{"job_id": runningID}}
}

// SyncConflict is the conflict EnqueueJob returns for a second sync of a
// connector.
func SyncConflict(runningID string) *Error {
	return &Error{Code: EConflict, Message: "a sync of this integration is already queued or running; watch it at /api/jobs/" + runningID,
		Details: map[string]any{"job_id": runningID}}
}

// AnalysisConflict is the conflict EnqueueJob returns for a second gap
// analysis of a tenant while one is queued or running.
func AnalysisConflict(runningID string) *Error {
	return &Error{Code: EConflict, Message: "a gap analysis of this tenant is already queued or running; watch it at /api/jobs/" + runningID,
		Details: map[string]any{"job_id": runningID}}
}

// Params validates req and returns what the job keeps of it (without the
// bound, which the store fills in).
func (req JobRequest) Params() (JobParams, error) {
	p := JobParams{Hard: req.Hard, BatchSize: req.BatchSize, AutoConfirmThreshold: req.AutoConfirmThreshold, Settings: req.Settings,
		ConnectorID: req.ConnectorID, Full: req.Full, MaxDocuments: req.MaxDocuments}
	switch req.Kind {
	case JobDeleteAll:
		if req.AutoConfirmThreshold != nil || len(req.Settings) > 0 {
			return p, Errorf(EInvalid, "a delete-all job takes no classifier options")
		}
		// A connector's delete is always hard: its tombstones are what
		// keep a reconnected connector from importing the items again.
		if _, ok := ParseID(req.ConnectorID); req.ConnectorID != "" && (!ok || !req.Hard) {
			return p, Errorf(EInvalid, "a connector's delete needs a connector id and is hard")
		}
	case JobClassifyPending:
		if req.Hard {
			return p, Errorf(EInvalid, "hard: applies to delete-all jobs only")
		}
	case JobSync:
		if _, ok := ParseID(req.ConnectorID); !ok {
			return p, Errorf(EInvalid, "a sync job needs a connector id")
		}
		if req.Hard || req.AutoConfirmThreshold != nil || len(req.Settings) > 0 {
			return p, Errorf(EInvalid, "a sync job takes only full_sync")
		}
	case JobAnalyzeGaps:
		if p.MaxDocuments == 0 {
			p.MaxDocuments = DefaultAnalysisDocuments
		}
		if p.MaxDocuments < 1 || p.MaxDocuments > MaxAnalysisDocuments {
			return p, Errorf(EInvalid, "max_documents: must be from 1 to %d, got %d", MaxAnalysisDocuments, p.MaxDocuments)
		}
	default:
		return p, Errorf(EInvalid, "kind: %q is not a job kind", req.Kind)
	}
	if p.BatchSize == 0 {
		p.BatchSize = DefaultJobBatchSize
	}
	if p.BatchSize < 1 || p.BatchSize > MaxBulkIDs {
		return p, Errorf(EInvalid, "batch_size: must be from 1 to %d, got %d", MaxBulkIDs, p.BatchSize)
	}
	return p, nil
}

// NilID is the id below every other; a job's cursor starts there.
const NilID = "00000000-0000-0000-0000-000000000000"

// BatchOutcome is what one batch of a job did, as RunJobBatch hands it
// to Advance.
type BatchOutcome struct {
	// Handled counts the documents the batch selected and handled.
	Handled int
	// Last is the largest id handled: the next batch starts after it.
	Last string
	// Tombstoned counts tombstones written (hard delete-all).
	Tombstoned int
	// Classified is the outcome of a classify batch.
	Classified *ClassifyOutcome
}

// JobAdvance is how a job's row changes after a batch: both engines write
// it in one statement.
type JobAdvance struct {
	Handled  int
	Cursor   string
	Result   json.RawMessage
	Finished bool
}

// Advance folds a batch into the job's running result. A batch that
// handled fewer documents than the batch size was the last one: the
// keyset scan found nothing more below the bound.
func Advance(kind JobKind, p JobParams, prevResult json.RawMessage, o BatchOutcome) (JobAdvance, error) {
	a := JobAdvance{Handled: o.Handled, Cursor: o.Last, Finished: o.Handled < p.BatchSize}
	var b []byte
	var err error
	switch kind {
	case JobDeleteAll:
		r := DeleteAllResult{Hard: p.Hard}
		if len(prevResult) > 0 {
			if err := json.Unmarshal(prevResult, &r); err != nil {
				return a, err
			}
		}
		r.Deleted += o.Handled
		r.Tombstoned += o.Tombstoned
		b, err = json.Marshal(r)
	case JobClassifyPending:
		r := ClassifyJobResult{ByClass: map[Classification]int{}}
		if len(prevResult) > 0 {
			if err := json.Unmarshal(prevResult, &r); err != nil {
				return a, err
			}
		}
		for _, c := range Classifications {
			r.ByClass[c] += 0
		}
		if o.Classified != nil {
			r.Classified += o.Classified.Total
			r.AutoConfirmed += o.Classified.AutoConfirmed
			r.NeedsReview += o.Classified.NeedsReview
			for c, n := range o.Classified.ByClass {
				r.ByClass[c] += n
			}
		}
		b, err = json.Marshal(r)
	default:
		return a, Errorf(EInternal, "unknown job kind %q", kind)
	}
	a.Result = b
	return a, err
}

// DueConnector is a connector the sync scheduler found due: its tenant,
// id and interval, and whether a sync of it is already queued or running.
type DueConnector struct {
	TenantID string
	ID       string
	Interval time.Duration
	Busy     bool
}

// ScheduledSync is a sync job the scheduler creates for a due connector.
type ScheduledSync struct {
	TenantID    string
	ConnectorID string
	Job         Job
	Params      string // the job's params, as JSON
}

// PlanScheduledSyncs returns the sync jobs to create for the due
// connectors that are not busy, created at now.
func PlanScheduledSyncs(due []DueConnector, now time.Time) []ScheduledSync {
	var out []ScheduledSync
	for _, c := range due {
		if c.Busy {
			continue
		}
		p, _ := json.Marshal(JobParams{ConnectorID: c.ID, Scheduled: true})
		out = append(out, ScheduledSync{TenantID: c.TenantID, ConnectorID: c.ID, Params: string(p),
			Job: Job{ID: NewID(), Kind: JobSync, Status: JobQueued, CreatedAt: now}})
	}
	return out
}

// TenantJobs returns the jobs as the job engine takes them.
func TenantJobs(s []ScheduledSync) []TenantJob {
	out := make([]TenantJob, len(s))
	for i, j := range s {
		out[i] = TenantJob{TenantID: j.TenantID, Job: j.Job}
	}
	return out
}

// A running sync's worker notes a heartbeat with every batch and every
// JobHeartbeatEvery while it reads its source; a sync without one for
// JobStaleAfter has lost its worker (a killed process). Such a job is
// cancelled at once when asked, and a new sync of its connector replaces
// it, instead of both waiting for the job engine to rescue it.
const (
	JobHeartbeatEvery = 10 * time.Second
	JobStaleAfter     = 3 * JobHeartbeatEvery
)
