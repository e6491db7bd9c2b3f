package service

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/engram-kb/engram"
)

// decisionPage is how many decisions one read of a training brings: the
// training streams them, so memory is the model's, not the corpus's.
const decisionPage = 500

// TrainClassifier reads the tenant's decisions page by page with no
// transaction open, trains a model and stores it as the next version,
// with its audit row, in one transaction of two statements. A decision a
// person makes while the model trains is in the next model.
func (s *Store) TrainClassifier(ctx context.Context, tenantID, actor string, settings json.RawMessage, l engram.Learner) (engram.ClassifierModel, error) {
	tr, err := l.NewTraining(settings)
	if err != nil {
		return engram.ClassifierModel{}, err
	}
	n := 0
	after := ""
	for {
		page, err := s.d.Reader().DecisionsRead(ctx, tenantID, after, decisionPage)
		if err != nil {
			return engram.ClassifierModel{}, err
		}
		for i := range page {
			tr.Add(&page[i].ClassifyInput, page[i].Classification)
		}
		n += len(page)
		if len(page) < decisionPage {
			break
		}
		after = page[len(page)-1].ID
	}
	tm, err := tr.Finish()
	if err != nil {
		return engram.ClassifierModel{}, err
	}
	classes, err := json.Marshal(tm.Classes)
	if err != nil {
		return engram.ClassifierModel{}, err
	}
	m := engram.ClassifierModel{CreatedAt: s.now().UTC(), CreatedBy: actor, TrainingSize: n, Classes: classes, Figures: tm.Figures, Data: tm.Data}
	err = s.inTx(ctx, tenantID, func(tx engram.Tx) error {
		v, err := tx.ClassifierModelInsert(ctx, tenantID, m)
		if err != nil {
			return err
		}
		m.Version = v
		return s.audit(ctx, tx, tenantID, actor, "classifier.train", "classifier", n,
			map[string]any{"version": v, "classes": tm.Classes})
	})
	if err != nil {
		return engram.ClassifierModel{}, err
	}
	m.Data = nil
	return m, nil
}

// ClassifierStatus reads the newest model (without its data) and counts
// the decisions: two statements.
func (s *Store) ClassifierStatus(ctx context.Context, tenantID string) (engram.ClassifierStatus, error) {
	m, err := s.d.Reader().ClassifierModelLatest(ctx, tenantID, false)
	if err != nil {
		return engram.ClassifierStatus{}, err
	}
	n, err := s.d.Reader().DecisionCount(ctx, tenantID)
	if err != nil {
		return engram.ClassifierStatus{}, err
	}
	return engram.ClassifierStatus{Model: m, Decisions: n}, nil
}

// models caches each tenant's loaded model by version: loading one reads
// and decodes a few MiB, asking its version one short read.
type models struct {
	mu sync.Mutex
	m  map[string]loadedModel
}

type loadedModel struct {
	version int
	c       engram.Classifier
}

// maxCachedModels bounds the cache; past it, it starts again empty.
const maxCachedModels = 64

// TenantClassifier returns the classifier of the tenant's newest model.
func (s *Store) TenantClassifier(ctx context.Context, tenantID string, l engram.Learner, base engram.Classifier) (engram.Classifier, error) {
	head, err := s.d.Reader().ClassifierModelLatest(ctx, tenantID, false)
	if err != nil || head == nil {
		return base, err
	}
	s.models.mu.Lock()
	c, ok := s.models.m[tenantID]
	s.models.mu.Unlock()
	if ok && c.version == head.Version {
		return c.c, nil
	}
	full, err := s.d.Reader().ClassifierModelLatest(ctx, tenantID, true)
	if err != nil || full == nil {
		return base, err
	}
	cl, err := l.Load(full.Data, full.Version)
	if err != nil {
		return nil, err
	}
	s.models.mu.Lock()
	if s.models.m == nil || len(s.models.m) >= maxCachedModels {
		s.models.m = map[string]loadedModel{}
	}
	s.models.m[tenantID] = loadedModel{full.Version, cl}
	s.models.mu.Unlock()
	return cl, nil
}

// reclassifyPage is how many documents one page of a re-classification
// reads, classifies and writes.
const reclassifyPage = 500

// Reclassify classifies the machine-classified documents again, page by
// page: one read, the classifier with no transaction open, and a guarded
// write of the verdicts that changed (one transaction of one statement;
// none when nothing changed). A document a person decided, even while
// the page was being classified, keeps the person's decision: the write
// skips every document with user_confirmed set.
func (s *Store) Reclassify(ctx context.Context, tenantID string, settings json.RawMessage, classifier engram.Classifier) (engram.ReclassifyOutcome, error) {
	var out engram.ReclassifyOutcome
	classify := func(ctx context.Context, docs []engram.ClassifyInput) ([]engram.ClassifyResult, error) {
		return classifier.Classify(ctx, settings, docs)
	}
	after := ""
	for {
		cands, err := s.d.Reader().ClassifyRead(ctx, tenantID, engram.ClassifyQuery{Machine: true, After: after, Limit: reclassifyPage})
		if err != nil {
			return out, err
		}
		if len(cands) == 0 {
			return out, nil
		}
		after = cands[len(cands)-1].ID
		out.Read += len(cands)
		planned, skipped, err := s.runClassifier(ctx, classify, cands, nil)
		if err != nil {
			return out, err
		}
		out.Skipped += len(skipped)
		was := make(map[string]engram.Classification, len(cands))
		for _, c := range cands {
			was[c.ID] = c.Classification
		}
		// Only changed verdicts are written: one that stands keeps its
		// status (an automatic confirmation stays).
		var changed []engram.ClassifyVerdict
		for _, v := range planned {
			if was[v.ID] != v.Classification {
				changed = append(changed, v)
			}
		}
		out.Changed += len(changed)
		if len(changed) > 0 {
			err = s.inTx(ctx, tenantID, func(tx engram.Tx) error {
				updated, err := s.writeVerdicts(ctx, tx, tenantID, changed)
				out.Written += len(updated)
				out.Skipped += len(changed) - len(updated)
				return err
			})
			if err != nil {
				return out, err
			}
		}
		if len(cands) < reclassifyPage {
			return out, nil
		}
	}
}

// TenantsToTrain lists tenants with enough new decisions: one statement.
func (s *Store) TenantsToTrain(ctx context.Context, minNew, limit int) ([]string, error) {
	return s.d.Reader().ClassifierDue(ctx, minNew, limit)
}
