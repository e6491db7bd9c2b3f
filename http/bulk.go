package http

import (
	"context"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/engram-kb/engram"
)

// The bulk review endpoints and what they share with the single-document
// ones in review.go. Each bulk endpoint is one store call over all its ids,
// which the store runs in one transaction of a constant number of
// statements, never a loop here.

// MaxReasonLen is the longest rejection reason accepted, in characters.
const MaxReasonLen = 1000

// DefaultClassifyLimit is how many pending documents POST
// /api/documents/classify takes when it is given neither ids nor a limit.
const DefaultClassifyLimit = 100

// classifyFunc runs the tenant's classifier (its newest model, with a
// Learner; else the server's rules) with the caller's tenant settings,
// which Authenticate read together with the key. The model is looked up
// when the store calls it, outside any transaction.
func (s *Server) classifyFunc(p engram.Principal) engram.ClassifyFunc {
	return func(ctx context.Context, docs []engram.ClassifyInput) ([]engram.ClassifyResult, error) {
		c := s.classifier
		if s.learner != nil {
			var err error
			if c, err = s.store.TenantClassifier(ctx, p.TenantID, s.learner, s.classifier); err != nil {
				return nil, err
			}
		}
		return c.Classify(ctx, p.TenantSettings, docs)
	}
}

func checkThreshold(t *float64) error {
	if t != nil && (*t < 0 || *t > 1) {
		return engram.Errorf(engram.EInvalid, "auto_confirm_threshold: must be from 0 to 1, got %g", *t)
	}
	return nil
}

// classification reads an optional class from a body field.
func classification(v *string) (*engram.Classification, error) {
	if v == nil {
		return nil, nil
	}
	c, err := parseEnum("classification", *v, engram.Classifications)
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// requiredClassification reads a class that must be given.
func requiredClassification(v *string) (engram.Classification, error) {
	if v == nil {
		return "", engram.Errorf(engram.EInvalid, "classification: required; %s", oneOf(engram.Classifications))
	}
	c, err := classification(v)
	if err != nil {
		return "", err
	}
	return *c, nil
}

func checkReason(reason string) error {
	if utf8.RuneCountInString(reason) > MaxReasonLen {
		return engram.Errorf(engram.EInvalid, "reason: at most %d characters", MaxReasonLen)
	}
	// PostgreSQL text cannot hold NUL; refuse it here rather than fail in
	// the driver with a 500.
	if strings.ContainsRune(reason, 0) {
		return engram.Errorf(engram.EInvalid, "reason: must not contain NUL characters")
	}
	return nil
}

// notFound makes a result's missing ids a JSON list, never null.
func notFound(ids []string) []string {
	if ids == nil {
		return []string{}
	}
	return ids
}

// mustHaveFound turns a single-document result that missed into not_found.
func mustHaveFound(res engram.BulkResult, id string) error {
	if len(res.NotFound) > 0 {
		return engram.Errorf(engram.ENotFound, "document %s not found", id)
	}
	return nil
}

// classifyResults is the "results" object of a classify run.
type classifyResults struct {
	Total         int `json:"total"`
	Work          int `json:"work"`
	Personal      int `json:"personal"`
	Spam          int `json:"spam"`
	Unknown       int `json:"unknown"`
	AutoConfirmed int `json:"auto_confirmed"`
	NeedsReview   int `json:"needs_review"`
}

// classifyDocuments handles POST /api/documents/classify: the given ids,
// or up to limit pending documents, oldest first, in the request; or, with
// all_pending, every pending document in a background job (202).
func (s *Server) classifyDocuments(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	var body struct {
		DocumentIDs          []string `json:"document_ids"`
		Limit                *int     `json:"limit"`
		AutoConfirmThreshold *float64 `json:"auto_confirm_threshold"`
		AllPending           bool     `json:"all_pending"`
	}
	if err := decodeBody(r, &body, bodyOptional); err != nil {
		return err
	}
	if body.AllPending {
		// Every pending document: a job in batches, not this request.
		if body.DocumentIDs != nil || body.Limit != nil {
			return engram.Errorf(engram.EInvalid, "all_pending: cannot be combined with document_ids or limit")
		}
		if err := checkThreshold(body.AutoConfirmThreshold); err != nil {
			return err
		}
		j, err := s.store.EnqueueJob(r.Context(), p.TenantID, p.Actor(), engram.JobRequest{Kind: engram.JobClassifyPending,
			BatchSize: s.jobBatchSize, AutoConfirmThreshold: body.AutoConfirmThreshold, Settings: p.TenantSettings})
		if err != nil {
			return err
		}
		return s.respondAccepted(w, r, j)
	}
	sel := engram.ClassifySelection{Limit: DefaultClassifyLimit, AutoConfirmThreshold: body.AutoConfirmThreshold, Settings: p.TenantSettings}
	if body.DocumentIDs != nil {
		if body.Limit != nil {
			return engram.Errorf(engram.EInvalid, "limit: cannot be combined with document_ids; give one or the other")
		}
		ids, err := engram.NormalizeIDs("document_ids", body.DocumentIDs)
		if err != nil {
			return err
		}
		sel.IDs, sel.Limit = ids, 0
	} else if body.Limit != nil {
		if *body.Limit < 1 || *body.Limit > engram.MaxClassifyLimit {
			return engram.Errorf(engram.EInvalid, "limit: must be from 1 to %d, got %d", engram.MaxClassifyLimit, *body.Limit)
		}
		sel.Limit = *body.Limit
	}
	if err := checkThreshold(body.AutoConfirmThreshold); err != nil {
		return err
	}
	o, err := s.store.ClassifyDocuments(r.Context(), p.TenantID, p.Actor(), sel, s.classifyFunc(p))
	if err != nil {
		return err
	}
	return s.respond(w, r, http.StatusOK, struct {
		Success  bool            `json:"success"`
		Results  classifyResults `json:"results"`
		NotFound []string        `json:"not_found"`
		Skipped  []string        `json:"skipped"`
	}{true, classifyResults{
		Total:         o.Total,
		Work:          o.ByClass[engram.ClassWork],
		Personal:      o.ByClass[engram.ClassPersonal],
		Spam:          o.ByClass[engram.ClassSpam],
		Unknown:       o.ByClass[engram.ClassUnknown],
		AutoConfirmed: o.AutoConfirmed,
		NeedsReview:   o.NeedsReview,
	}, notFound(o.NotFound), notFound(o.Skipped)})
}

// decodeIDs decodes the body of a bulk endpoint into body (each endpoint
// has its own struct, so fields it does not take are unknown) and returns
// its document_ids, which ids points into, checked and without duplicates.
func decodeIDs(r *http.Request, body any, ids *[]string) ([]string, error) {
	if _, err := parseQuery(r); err != nil {
		return nil, err
	}
	if err := decodeBody(r, body, bodyRequired); err != nil {
		return nil, err
	}
	return engram.NormalizeIDs("document_ids", *ids)
}

// bulkSetClassification handles POST /api/documents/bulk/classify.
func (s *Server) bulkSetClassification(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	var body struct {
		DocumentIDs    []string `json:"document_ids"`
		Classification *string  `json:"classification"`
	}
	ids, err := decodeIDs(r, &body, &body.DocumentIDs)
	if err != nil {
		return err
	}
	c, err := requiredClassification(body.Classification)
	if err != nil {
		return err
	}
	res, err := s.store.SetClassification(r.Context(), p.TenantID, p.Actor(), ids, c)
	if err != nil {
		return err
	}
	return s.respond(w, r, http.StatusOK, struct {
		Success        bool                  `json:"success"`
		Updated        int                   `json:"updated"`
		Classification engram.Classification `json:"classification"`
		NotFound       []string              `json:"not_found"`
	}{true, res.Changed, c, notFound(res.NotFound)})
}

// bulkConfirm handles POST /api/documents/bulk/confirm.
func (s *Server) bulkConfirm(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	var body struct {
		DocumentIDs    []string `json:"document_ids"`
		Classification *string  `json:"classification"`
	}
	ids, err := decodeIDs(r, &body, &body.DocumentIDs)
	if err != nil {
		return err
	}
	c, err := classification(body.Classification)
	if err != nil {
		return err
	}
	res, err := s.store.ConfirmDocuments(r.Context(), p.TenantID, p.Actor(), ids, c)
	if err != nil {
		return err
	}
	return s.respondCount(w, r, "confirmed", res)
}

// bulkReject handles POST /api/documents/bulk/reject.
func (s *Server) bulkReject(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	var body struct {
		DocumentIDs []string `json:"document_ids"`
		Reason      string   `json:"reason"`
	}
	ids, err := decodeIDs(r, &body, &body.DocumentIDs)
	if err != nil {
		return err
	}
	if err := checkReason(body.Reason); err != nil {
		return err
	}
	res, err := s.store.RejectDocuments(r.Context(), p.TenantID, p.Actor(), ids, body.Reason)
	if err != nil {
		return err
	}
	return s.respondCount(w, r, "rejected", res)
}

// bulkDelete handles POST /api/documents/bulk/delete.
func (s *Server) bulkDelete(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	var body struct {
		DocumentIDs []string `json:"document_ids"`
		Hard        bool     `json:"hard"`
	}
	ids, err := decodeIDs(r, &body, &body.DocumentIDs)
	if err != nil {
		return err
	}
	res, err := s.store.DeleteDocuments(r.Context(), p.TenantID, p.Actor(), ids, body.Hard)
	if err != nil {
		return err
	}
	return s.respondDeleted(w, r, res, body.Hard)
}

// bulkRestore handles POST /api/documents/bulk/restore.
func (s *Server) bulkRestore(w http.ResponseWriter, r *http.Request, p engram.Principal) error {
	var body struct {
		DocumentIDs []string `json:"document_ids"`
	}
	ids, err := decodeIDs(r, &body, &body.DocumentIDs)
	if err != nil {
		return err
	}
	res, err := s.store.RestoreDocuments(r.Context(), p.TenantID, p.Actor(), ids)
	if err != nil {
		return err
	}
	return s.respondCount(w, r, "restored", res)
}

// respondCount writes {"success":true,<key>:N,"not_found":[...]}.
func (s *Server) respondCount(w http.ResponseWriter, r *http.Request, key string, res engram.BulkResult) error {
	// A map keeps one helper for four endpoints whose only difference is
	// the name of the count; encoding/json sorts its keys.
	return s.respond(w, r, http.StatusOK, map[string]any{
		"success": true, key: res.Changed, "not_found": notFound(res.NotFound),
	})
}

func (s *Server) respondDeleted(w http.ResponseWriter, r *http.Request, res engram.BulkResult, hard bool) error {
	return s.respond(w, r, http.StatusOK, struct {
		Success    bool     `json:"success"`
		Deleted    int      `json:"deleted"`
		Tombstoned int      `json:"tombstoned"`
		NotFound   []string `json:"not_found"`
		Hard       bool     `json:"hard"`
	}{true, res.Changed, res.Tombstoned, notFound(res.NotFound), hard})
}
