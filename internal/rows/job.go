package rows

import (
	"encoding/json"
	"time"

	"github.com/engram-kb/engram"
)

// FinishJob sets the fields of a scanned job that both engines derive the
// same way: its enums, and what its params say (a scheduled sync, the
// connector it syncs). Empty params leave them unset.
func FinishJob(j *engram.JobRecord, kind, status string, params []byte) error {
	j.Kind, j.Status = engram.JobKind(kind), engram.JobStatus(status)
	if len(params) > 0 {
		if err := json.Unmarshal(params, &j.Params); err != nil {
			return err
		}
	}
	j.Scheduled = j.Params.Scheduled
	if j.Params.ConnectorID != "" {
		id := j.Params.ConnectorID
		j.ConnectorID = &id
	}
	return nil
}

// JobFound turns a read of job id into the job or not_found.
func JobFound(id string, j engram.JobRecord, found bool, err error) (engram.JobRecord, error) {
	if err == nil && !found {
		err = engram.Errorf(engram.ENotFound, "job %s not found", id)
	}
	return j, err
}

// JobPtr returns the job a read found, or nil.
func JobPtr(j engram.JobRecord, found bool, err error) (*engram.Job, error) {
	if err != nil || !found {
		return nil, err
	}
	return &j.Job, nil
}

// JobListParams are a job list's filter values: nil where the filter does
// not narrow the list (the statements test each for NULL), and the keyset
// cursor (NilID without one).
type JobListParams struct {
	Kind, Status *string
	After        *time.Time
	AfterID      string
}

// JobList returns the parameters of f.
func JobList(f engram.JobFilter) JobListParams {
	p := JobListParams{AfterID: engram.NilID}
	if f.Kind != nil {
		k := string(*f.Kind)
		p.Kind = &k
	}
	if f.Status != nil {
		st := string(*f.Status)
		p.Status = &st
	}
	if f.Cursor != nil {
		t := f.Cursor.CreatedAt
		p.After, p.AfterID = &t, f.Cursor.ID
	}
	return p
}

// Statement is one statement of an engine: its operation name and text.
type Statement struct{ Op, SQL string }

// JobActive picks the statement that finds a tenant's active job of kind
// from the engine's statements, with its arguments (the tenant, and the
// connector for a sync). A kind with no statement is an internal error.
func JobActive(stmts map[engram.JobKind]Statement, kind engram.JobKind, tenantID, connectorID string) (Statement, []any, error) {
	st, ok := stmts[kind]
	if !ok {
		return st, nil, engram.Errorf(engram.EInternal, "JobActiveID: no statement for kind %q", kind)
	}
	args := []any{tenantID}
	if kind == engram.JobSync {
		args = append(args, connectorID)
	}
	return st, args, nil
}

// JobSnapshot picks the statement that counts a job's targets: byConnector
// for one connector's documents (arguments: the tenant and the
// connector), else the one for its kind and hardness (argument: the
// tenant). Targets with no statement are an internal error.
func JobSnapshot(byConnector Statement, byKind map[engram.JobKind]map[bool]string, t engram.JobTargets, tenantID string) (Statement, []any, error) {
	if t.ConnectorID != "" {
		return byConnector, []any{tenantID, t.ConnectorID}, nil
	}
	if q, ok := byKind[t.Kind][t.Hard]; ok {
		return Statement{Op: "jobs.snapshot", SQL: q}, []any{tenantID}, nil
	}
	return Statement{}, nil, engram.Errorf(engram.EInternal, "JobSnapshotRead: no snapshot of %+v", t)
}

// OptionalString returns s, or nil (NULL) for "".
func OptionalString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
