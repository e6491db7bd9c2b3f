package classify

import (
	"encoding/json"
	"errors"

	"github.com/engram-kb/engram"
)

// Learner is engram's engram.Learner: it trains the model of model.go
// and loads it as a Learned classifier. The zero value is ready to use.
type Learner struct{}

var _ engram.Learner = Learner{}

// NewTraining starts a training; settings are the tenant's, as for Rules.
func (Learner) NewTraining(settings json.RawMessage) (engram.Training, error) {
	t, err := NewTrainer(settings)
	if err != nil {
		return nil, err
	}
	return training{t}, nil
}

// Load decodes a stored model.
func (Learner) Load(data []byte, version int) (engram.Classifier, error) {
	m, err := DecodeModel(data)
	if err != nil {
		return nil, err
	}
	return NewLearned(m, version), nil
}

type training struct{ t *Trainer }

func (t training) Add(d *engram.ClassifyInput, c engram.Classification) { t.t.Add(d, c) }

// Finish trains; too few decisions is a conflict that says what is needed.
func (t training) Finish() (engram.TrainedModel, error) {
	m, figs, err := t.t.Train()
	if errors.Is(err, ErrTooFewDecisions) {
		return engram.TrainedModel{}, engram.Errorf(engram.EConflict,
			"too few decisions to train a model: at least two classes need %d documents each confirmed or classified by a person", MinClassExamples)
	}
	if err != nil {
		return engram.TrainedModel{}, err
	}
	data, err := m.Encode()
	if err != nil {
		return engram.TrainedModel{}, err
	}
	f, err := json.Marshal(figs)
	if err != nil {
		return engram.TrainedModel{}, err
	}
	return engram.TrainedModel{Data: data, Classes: m.Classes(), Figures: f}, nil
}
