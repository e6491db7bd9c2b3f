package jobs

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/engram-kb/engram"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Learning. A periodic pass (every Config.TrainEvery) asks the store which
// tenants have enough new decisions since their newest model
// (engram.ClassifierStore.TenantsToTrain) and inserts one train job per
// such tenant, unique per tenant while one is queued or running. The
// train job trains the tenant's model from its decisions (no transaction
// open while it reads and trains), stores it, and re-classifies the
// documents a machine classified, never a person's.

// DefaultTrainEvery is how often the learning pass looks for tenants to
// train.
const DefaultTrainEvery = 10 * time.Minute

// MinNewDecisions is how many new decisions (at least; a tenth of the last
// training size when that is more) make a tenant's next model worth
// training: fewer would change it little, and a training re-reads every
// decision.
const MinNewDecisions = 20

// trainPass is how many tenants one learning pass takes.
const trainPass = 100

type trainSweepArgs struct{}

func (trainSweepArgs) Kind() string { return "engram.classifier_sweep" }

// trainArgs is one tenant's training.
type trainArgs struct {
	TenantID string `json:"tenant_id"`
}

func (trainArgs) Kind() string { return "engram.classifier_train" }

func trainSweepJob(every time.Duration) *river.PeriodicJob {
	unique := river.UniqueOpts{ByPeriod: max(every, time.Second)}
	return river.NewPeriodicJob(river.PeriodicInterval(every), func() (river.JobArgs, *river.InsertOpts) {
		return trainSweepArgs{}, &river.InsertOpts{Queue: maintenanceQueue, MaxAttempts: 1, UniqueOpts: unique}
	}, &river.PeriodicJobOpts{ID: "engram.classifier_sweep"})
}

// trainSweepWorker inserts the train jobs of the tenants due.
type trainSweepWorker struct {
	river.WorkerDefaults[trainSweepArgs]
	store  engram.ClassifierStore
	log    *slog.Logger
	insert func(ctx context.Context, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
}

func (w *trainSweepWorker) Timeout(*river.Job[trainSweepArgs]) time.Duration { return time.Minute }

func (w *trainSweepWorker) Work(ctx context.Context, _ *river.Job[trainSweepArgs]) error {
	due, err := w.store.TenantsToTrain(ctx, MinNewDecisions, trainPass)
	if err != nil || len(due) == 0 {
		return err
	}
	params := make([]river.InsertManyParams, len(due))
	for i, id := range due {
		params[i] = river.InsertManyParams{Args: trainArgs{TenantID: id},
			InsertOpts: &river.InsertOpts{MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByArgs: true}}}
	}
	if _, err := w.insert(ctx, params); err != nil {
		return err
	}
	w.log.Info("classifier trainings queued", "tenants", len(due))
	return nil
}

// trainWorker trains one tenant's model and re-classifies with it.
type trainWorker struct {
	river.WorkerDefaults[trainArgs]
	store   engram.Store
	learner engram.Learner
	base    engram.Classifier
	log     *slog.Logger
}

func (w *trainWorker) Timeout(*river.Job[trainArgs]) time.Duration { return 30 * time.Minute }

func (w *trainWorker) Work(ctx context.Context, j *river.Job[trainArgs]) error {
	tn, err := w.store.Tenant(ctx, j.Args.TenantID)
	if engram.ErrorCode(err) == engram.ENotFound {
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	settings, err := json.Marshal(tn.Settings)
	if err != nil {
		return err
	}
	m, err := w.store.TrainClassifier(ctx, tn.ID, "", settings, w.learner)
	if engram.ErrorCode(err) == engram.EConflict {
		// Too few decisions of a second class yet: the next pass retries.
		w.log.Info("classifier not trained", "tenant_id", tn.ID, "reason", engram.ErrorMessage(err))
		return nil
	}
	if err != nil {
		return err
	}
	c, err := w.store.TenantClassifier(ctx, tn.ID, w.learner, w.base)
	if err != nil {
		return err
	}
	out, err := w.store.Reclassify(ctx, tn.ID, settings, c)
	if err != nil {
		return err
	}
	w.log.Info("classifier trained", "tenant_id", tn.ID, "version", m.Version, "decisions", m.TrainingSize,
		"reclassified", out.Written)
	return nil
}
