package eval

import (
	"context"
	"encoding/gob"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/classify"
	"github.com/engram-kb/engram/internal/testdb"
)

// dumpDoc is one decision as the learner receives it.
type dumpDoc struct {
	In    engram.ClassifyInput
	Class engram.Classification
}

// capLearner is engram's learner, keeping a copy of what it is given.
type capLearner struct{ docs *[]dumpDoc }

func (c capLearner) NewTraining(s json.RawMessage) (engram.Training, error) {
	t, err := classify.Learner{}.NewTraining(s)
	return capTraining{t, c.docs}, err
}
func (c capLearner) Load(d []byte, v int) (engram.Classifier, error) {
	return classify.Learner{}.Load(d, v)
}

type capTraining struct {
	engram.Training
	docs *[]dumpDoc
}

func (c capTraining) Add(d *engram.ClassifyInput, cl engram.Classification) {
	*c.docs = append(*c.docs, dumpDoc{*d, cl})
	c.Training.Add(d, cl)
}

// TestDumpTrainingHalf writes the decisions a run of the SpamAssassin
// corpus trains on (seed 1, half of each class), as the Learner receives
// them, to the file ENGRAM_CV_DUMP names, for classify's cross-validation
// harness (classify/cv_test.go). Only the training half is written: the
// learner's choices are made without seeing the documents it is measured
// on.
func TestDumpTrainingHalf(t *testing.T) {
	path := os.Getenv("ENGRAM_CV_DUMP")
	if path == "" {
		t.Skip("set ENGRAM_CV_DUMP to a file to write")
	}
	var docs []dumpDoc
	_, err := Run(context.Background(), testdb.OpenSQLite(t), Options{Dataset: filepath.Join("..", "..", "..", "shared", "data", "spamassassin"), TrainFraction: 0.5, Seed: 1, Learner: capLearner{&docs}})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := gob.NewEncoder(f).Encode(docs); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d docs", len(docs))
}
