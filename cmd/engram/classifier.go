package main

import (
	"context"
	"encoding/json"
	"io"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/classify"
)

// classifierCmd runs `engram classifier train|status --tenant S`.
func classifierCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("classifier", "classifier train|status --tenant SLUG [--no-reclassify] [--db URL]", stderr)
	var db dbFlags
	db.register(fs, false)
	tenant := fs.String("tenant", "", "the slug of the tenant (required)")
	noReclassify := fs.Bool("no-reclassify", false, "train only: leave the machine-classified documents as they are")
	if len(args) == 0 || (args[0] != "train" && args[0] != "status") {
		return subcommandHelp(fs, args, stdout, "classifier needs train or status")
	}
	action := args[0]
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	s, tn, err := openForTenant(ctx, fs, db, *tenant)
	if err != nil {
		return err
	}
	defer s.Close()
	if action == "status" {
		st, err := s.ClassifierStatus(ctx, tn.ID)
		if err != nil {
			return cliError(err)
		}
		return writeJSON(stdout, st)
	}
	out, err := trainTenant(ctx, s, tn, !*noReclassify)
	if err != nil {
		return cliError(err)
	}
	return writeJSON(stdout, out)
}

// trained is what a training from the command line did.
type trained struct {
	Model      engram.ClassifierModel    `json:"model"`
	Reclassify *engram.ReclassifyOutcome `json:"reclassify"`
}

// trainTenant trains tn's model and, when reclassify, classifies its
// machine-classified documents again with it: what POST
// /api/classifier/train does.
func trainTenant(ctx context.Context, s engram.Store, tn engram.Tenant, reclassify bool) (trained, error) {
	settings, err := json.Marshal(tn.Settings)
	if err != nil {
		return trained{}, err
	}
	l := classify.Learner{}
	m, err := s.TrainClassifier(ctx, tn.ID, "", settings, l)
	if err != nil {
		return trained{}, err
	}
	out := trained{Model: m}
	if reclassify {
		c, err := s.TenantClassifier(ctx, tn.ID, l, classify.New())
		if err != nil {
			return trained{}, err
		}
		o, err := s.Reclassify(ctx, tn.ID, settings, c)
		if err != nil {
			return trained{}, err
		}
		out.Reclassify = &o
	}
	return out, nil
}
