package engram

import (
	"context"
	"encoding/json"
	"time"
)

// ClassifierModel is one version of a tenant's learned classifier as
// stored: what it learned from, how it did on decisions held out of its
// training, and (when read with it) the model itself.
type ClassifierModel struct {
	Version      int       `json:"version"`
	CreatedAt    time.Time `json:"created_at"`
	CreatedBy    string    `json:"created_by,omitempty"`
	TrainingSize int       `json:"training_size"`
	// Classes maps each class the model decides to its decisions.
	Classes json.RawMessage `json:"classes"`
	// Figures are the held-out scores (accuracy, Brier, per class).
	Figures json.RawMessage `json:"figures"`
	// Data is the serialised model; nil when read without it.
	Data []byte `json:"-"`
}

// Decision is a document a person decided: a class confirmed or set by
// hand. It is what a model learns from.
type Decision struct {
	ClassifyInput
	Classification Classification
}

// ClassifierExecutor runs the statements of model training and storage.
type ClassifierExecutor interface {
	// ClassifierModelInsert stores m as the tenant's next version (one
	// more than its newest) and returns that version. One statement.
	ClassifierModelInsert(ctx context.Context, tenantID string, m ClassifierModel) (int, error)
	// ClassifierModelLatest reads the tenant's newest model, with its
	// Data when withData; nil when it has none. One statement.
	ClassifierModelLatest(ctx context.Context, tenantID string, withData bool) (*ClassifierModel, error)
	// DecisionsRead reads up to limit of the tenant's live documents a
	// person decided (user_confirmed, not rejected, classified work,
	// personal or spam) with id > after, in id order, content cut at
	// ClassifyContentPrefix. One statement.
	DecisionsRead(ctx context.Context, tenantID, after string, limit int) ([]Decision, error)
	// DecisionCount counts what DecisionsRead would read in all. One
	// statement.
	DecisionCount(ctx context.Context, tenantID string) (int, error)
	// ClassifierDue lists up to limit active tenants, across tenants,
	// whose decisions number at least their newest model's training size
	// plus the larger of minNew and a tenth of that size (a tenant without
	// a model: 2×minNew). One statement.
	ClassifierDue(ctx context.Context, minNew, limit int) ([]string, error)
}

// Training accumulates a tenant's decisions for a new model.
type Training interface {
	Add(d *ClassifyInput, c Classification)
	// Finish builds the model. It returns a conflict error when the
	// decisions are too few for a model, saying how many it needs.
	Finish() (TrainedModel, error)
}

// TrainedModel is a model Training built, ready to store.
type TrainedModel struct {
	Data    []byte
	Classes map[Classification]int
	Figures json.RawMessage
}

// Learner trains and loads tenants' models; package classify has the
// one engram uses. A language-model classifier plugs in as a Classifier
// that wraps what Load returns.
type Learner interface {
	// NewTraining starts a training under the tenant's settings. Returns
	// invalid_argument for settings of the wrong shape.
	NewTraining(settings json.RawMessage) (Training, error)
	// Load returns the classifier of a stored model of the given version.
	Load(data []byte, version int) (Classifier, error)
}

// ClassifierStatus is what GET /api/classifier shows: the model in use
// (nil before the first training) and how many decisions there are now.
type ClassifierStatus struct {
	Model     *ClassifierModel `json:"model"`
	Decisions int              `json:"decisions"`
}

// ReclassifyOutcome is what a re-classification after a new model did.
type ReclassifyOutcome struct {
	Read    int `json:"read"`
	Changed int `json:"changed"`
	Written int `json:"written"`
	// Skipped were decided by a person, changed or deleted meanwhile.
	Skipped int `json:"skipped"`
}

// ClassifierStore is the use cases of the learned classifier.
type ClassifierStore interface {
	// TrainClassifier reads the tenant's decisions with no transaction
	// open, trains a model and stores it as the next version with an
	// audit row (one transaction of two statements). Returns conflict
	// when the decisions are too few.
	TrainClassifier(ctx context.Context, tenantID, actor string, settings json.RawMessage, l Learner) (ClassifierModel, error)
	// ClassifierStatus reports the tenant's current model.
	ClassifierStatus(ctx context.Context, tenantID string) (ClassifierStatus, error)
	// TenantClassifier returns the classifier the tenant's newest model
	// makes with l, or base when it has none. One statement when the
	// model is cached, two when it is loaded.
	TenantClassifier(ctx context.Context, tenantID string, l Learner, base Classifier) (Classifier, error)
	// Reclassify classifies again, with classifier, the tenant's
	// documents classified by a machine (not decided by a person), page by
	// page: each page is read, classified with no transaction open and
	// written guarded, so a person's decision, even one made meanwhile,
	// is never overwritten.
	Reclassify(ctx context.Context, tenantID string, settings json.RawMessage, classifier Classifier) (ReclassifyOutcome, error)
	// TenantsToTrain lists tenants with enough new decisions for a new
	// model (see ClassifierDue), across tenants.
	TenantsToTrain(ctx context.Context, minNew, limit int) ([]string, error)
}
