// Package jobs runs engram's background jobs on River
// (github.com/riverqueue/river): River's riverpgxv5 driver on PostgreSQL,
// its riversqlite driver on SQLite. River executes, retries and rescues
// jobs; the engram jobs row (written by the stores) is what the API
// reports, and every batch of work commits its progress with it.
//
// A worker runs a job's batches for a time slice and then snoozes the
// River job, which puts it straight back in the queue. A slice is short
// next to RescueAfter, so River's rescuer only ever picks up jobs whose
// process died, and a SIGTERM never waits for more than one batch.
//
// On SQLite River shares the store's one writer connection (see
// NewBackend): River's producer, elector and maintenance queries and
// engram's writes queue behind each other in this process, as River's
// SQLite driver recommends, instead of racing for the file's write lock.
package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/connector"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
)

// Config configures a Runner. Zero values take the defaults.
type Config struct {
	// Workers is how many jobs this process runs at once; 0 makes the
	// runner insert-only (an API server that leaves work to `engram
	// worker` processes).
	Workers int
	// RescueAfter is how long a job may go without its process finishing
	// a slice before River hands it to another worker (default 1m). A
	// killed process's job resumes after about this long.
	RescueAfter time.Duration
	// Classifier classifies documents for classify jobs (required when
	// Workers > 0).
	Classifier engram.Classifier
	// Learner, when set, makes classify jobs use each tenant's newest
	// learned model, with Classifier as the cold start, and trains a
	// tenant's model when enough new decisions arrived (see
	// jobs/classifier.go), looking every TrainEvery (default
	// DefaultTrainEvery).
	Learner    engram.Learner
	TrainEvery time.Duration
	// Logger receives River's warnings and the workers' logs.
	Logger *slog.Logger
	// Connectors opens connector sources for sync jobs; its Roots are the
	// directories folder and mail connectors may read.
	Connectors connector.Registry
	// Analyzer and AnalyzerName run analyze_gaps jobs (see
	// engram.RunGapAnalysis); without an Analyzer those jobs fail.
	Analyzer     engram.GapAnalyzer
	AnalyzerName string
	// SyncTimeout bounds one analysis execution, and how long one sync
	// execution may read its source (default DefaultSyncTimeout); a sync
	// pauses at its first batch boundary after a slice.
	SyncTimeout time.Duration
	// PollInterval is how often workers look for new jobs where the
	// engine has no notifications (SQLite), default 1s.
	PollInterval time.Duration
	// ScheduleEvery is how often the leader among the worker processes
	// starts the syncs that connectors' sync_interval makes due (default
	// DefaultScheduleEvery).
	ScheduleEvery time.Duration
	// Embedder, when set, embeds the tenants' chunks (see embed.go):
	// EmbedBatch chunks per batch (default DefaultEmbedBatch), looking for
	// tenants with chunks to embed every EmbedEvery (default
	// DefaultEmbedEvery).
	Embedder   engram.Embedder
	EmbedBatch int
	EmbedEvery time.Duration
	// Finished, when set, is told of every job this process's workers
	// finish, with its kind and final status (for /metrics).
	Finished func(engram.JobKind, engram.JobStatus)

	pollOnly bool // from Backend.PollOnly
}

func (c *Config) defaults() {
	if c.RescueAfter <= 0 {
		c.RescueAfter = time.Minute
	}
	if c.SyncTimeout <= 0 {
		c.SyncTimeout = DefaultSyncTimeout
	}
	if c.PollInterval <= 0 {
		c.PollInterval = time.Second
	}
	if c.ScheduleEvery <= 0 {
		c.ScheduleEvery = DefaultScheduleEvery
	}
	if c.TrainEvery <= 0 {
		c.TrainEvery = DefaultTrainEvery
	}
	if c.EmbedBatch <= 0 {
		c.EmbedBatch = DefaultEmbedBatch
	}
	if c.EmbedEvery <= 0 {
		c.EmbedEvery = DefaultEmbedEvery
	}
	if c.Finished == nil {
		c.Finished = func(engram.JobKind, engram.JobStatus) {}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// slice is how long one River execution of a job runs batches before it
// snoozes: a third of RescueAfter, so a live worker is never rescued.
func (c Config) slice() time.Duration {
	return min(c.RescueAfter/3, time.Minute)
}

// Runner is a River client wired to an engram store.
type Runner struct {
	workers       int
	start         func(context.Context) error
	stop          func(context.Context) error
	stopAndCancel func(context.Context) error
}

// Backend is River on one engine's database: River's driver for it, and
// the hook through which the engine's transactions insert River jobs.
// The program's wiring point (cmd/engram) makes it with NewBackend; this
// package never names an engine.
type Backend struct {
	runner   func(store engram.Store, cfg Config) (*Runner, error)
	migrator func() (riverMigrator, error)
	// PollOnly makes River poll for new jobs every Config.PollInterval
	// instead of listening for them: the database is behind a
	// transaction pooler, where a listening session cannot live.
	PollOnly bool
}

// NewBackend returns River over driver; attach hands the engine the
// function that inserts River jobs in one of its transactions (on SQLite,
// driver must share the engine's one writer connection).
func NewBackend[TTx any](driver riverdriver.Driver[TTx], attach func(engram.JobEnqueuer[TTx])) Backend {
	return Backend{
		runner: func(store engram.Store, cfg Config) (*Runner, error) {
			return newRunner(driver, store, attach, cfg)
		},
		migrator: func() (riverMigrator, error) { return newTyped(driver) },
	}
}

// New attaches River to store through b: new jobs are inserted with River
// in the transaction that records them, and, when cfg.Workers > 0, Start
// runs them.
func New(store engram.Store, b Backend, cfg Config) (*Runner, error) {
	if b.runner == nil {
		return nil, errors.New("jobs: no River backend")
	}
	cfg.defaults()
	cfg.pollOnly = b.PollOnly
	return b.runner(store, cfg)
}

func newRunner[TTx any](driver riverdriver.Driver[TTx], store engram.Store, attach func(engram.JobEnqueuer[TTx]), cfg Config) (*Runner, error) {
	if cfg.Workers > 0 && cfg.Classifier == nil {
		return nil, errors.New("jobs: a Classifier is required to run workers")
	}
	w := &worker{store: store, connectors: store, tenants: store, gaps: store, registry: cfg.Connectors, analyzer: cfg.Analyzer,
		analyzerName: cfg.AnalyzerName, classifier: cfg.Classifier, learner: cfg.Learner, classifiers: store, slice: cfg.slice(), syncTimeout: cfg.SyncTimeout,
		log: cfg.Logger, finished: cfg.Finished}
	workers := river.NewWorkers()
	river.AddWorker(workers, &kindWorker[deleteAllArgs]{w: w})
	river.AddWorker(workers, &kindWorker[classifyArgs]{w: w})
	// A sync runs in slices (see runSync): River rescues a killed
	// process's sync as soon as a delete-all's.
	river.AddWorker(workers, &passWorker[syncArgs]{timeout: 2 * w.slice, run: w.runSync})
	river.AddWorker(workers, &passWorker[analyzeArgs]{timeout: cfg.SyncTimeout, run: w.runAnalyze})
	sched := &scheduleWorker{store: store, log: cfg.Logger, finished: cfg.Finished}
	river.AddWorker(workers, sched)
	sweep := &trainSweepWorker{store: store, log: cfg.Logger}
	river.AddWorker(workers, sweep)
	if cfg.Learner != nil {
		river.AddWorker(workers, &trainWorker{store: store, learner: cfg.Learner, base: cfg.Classifier, log: cfg.Logger})
	}
	var embedSweep *embedSweepWorker
	if cfg.Embedder != nil {
		embedSweep = &embedSweepWorker{store: store, embedder: cfg.Embedder, log: cfg.Logger}
		river.AddWorker(workers, embedSweep)
		river.AddWorker(workers, &embedWorker{store: store, embedder: cfg.Embedder, batch: cfg.EmbedBatch, slice: cfg.slice(), log: cfg.Logger})
	}
	rc := &river.Config{
		Workers: workers,
		// Workers set their own timeout (see kindWorker.Timeout).
		JobTimeout:           -1,
		RescueStuckJobsAfter: cfg.RescueAfter,
		FetchPollInterval:    cfg.PollInterval,
		FetchCooldown:        min(cfg.PollInterval, river.FetchCooldownDefault),
		PollOnly:             cfg.pollOnly,
		Logger:               slog.New(minLevel{cfg.Logger.Handler(), slog.LevelWarn}),
	}
	if cfg.Workers > 0 {
		rc.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.Workers}, maintenanceQueue: {MaxWorkers: 1}}
		rc.PeriodicJobs = []*river.PeriodicJob{scheduleJob(cfg.ScheduleEvery)}
		if cfg.Learner != nil {
			rc.PeriodicJobs = append(rc.PeriodicJobs, trainSweepJob(cfg.TrainEvery))
		}
		if cfg.Embedder != nil {
			rc.PeriodicJobs = append(rc.PeriodicJobs, embedSweepJob(cfg.EmbedEvery))
		}
	}
	client, err := river.NewClient(driver, rc)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	sched.list = client.JobList
	sweep.insert = client.InsertMany
	if embedSweep != nil {
		embedSweep.insert = client.InsertMany
	}
	attach(func(ctx context.Context, tx TTx, jobs []engram.TenantJob) ([]int64, error) {
		params := make([]river.InsertManyParams, len(jobs))
		for i, j := range jobs {
			params[i] = river.InsertManyParams{Args: argsFor(j.TenantID, j.Job)}
		}
		res, err := client.InsertManyTx(ctx, tx, params)
		if err != nil {
			return nil, err
		}
		// River's results are matched to the jobs by the job id in their
		// arguments, not by position: its batch insert does not promise
		// to return rows in the order given.
		byJob := make(map[string]int64, len(res))
		for _, r := range res {
			var a jobArgs
			if err := json.Unmarshal(r.Job.EncodedArgs, &a); err != nil {
				return nil, fmt.Errorf("jobs: River returned arguments it was not given: %w", err)
			}
			byJob[a.JobID] = r.Job.ID
		}
		ids := make([]int64, len(jobs))
		for i, j := range jobs {
			id, ok := byJob[j.Job.ID]
			if !ok {
				return nil, fmt.Errorf("jobs: River did not insert job %s", j.Job.ID)
			}
			ids[i] = id
		}
		return ids, nil
	})
	return &Runner{
		workers:       cfg.Workers,
		start:         client.Start,
		stop:          client.Stop,
		stopAndCancel: client.StopAndCancel,
	}, nil
}

// Start starts the workers (nothing when the runner is insert-only).
func (r *Runner) Start(ctx context.Context) error {
	if r.workers == 0 {
		return nil
	}
	return r.start(ctx)
}

// Stop stops the workers: each running job finishes the batch it is in,
// records its progress and goes back to the queue, where the next start
// (of this or another process) resumes it. It returns when the workers
// have stopped or ctx is done.
func (r *Runner) Stop(ctx context.Context) error {
	if r.workers == 0 {
		return nil
	}
	// StopAndCancel rather than Stop: Stop would wait for each job's slice
	// to end. Cancelling only ends the slice at the next batch boundary;
	// a batch in flight runs on a context of its own (see worker.run).
	return r.stopAndCancel(ctx)
}

// minLevel drops records below a level: River reports every start and
// stop at info, which would drown engram's access log.
type minLevel struct {
	slog.Handler
	level slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.level && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(a []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(a), h.level}
}

func (h minLevel) WithGroup(n string) slog.Handler { return minLevel{h.Handler.WithGroup(n), h.level} }
