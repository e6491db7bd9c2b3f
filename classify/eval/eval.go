// Package eval measures engram's classification on a labelled dataset by
// the production path: a mail (or folder) connector per class folder into
// a fresh tenant, a sync, a simulated person deciding a stratified share
// of the documents, a training, and the classification of the rest, all
// through the store's use cases as the API and the workers run them.
package eval

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/engram-kb/engram"
	"github.com/engram-kb/engram/classify"
	"github.com/engram-kb/engram/connector"
	"github.com/engram-kb/engram/ingest"
)

// Options configure a run.
type Options struct {
	// Dataset holds one folder per true class: ham/ (not spam), spam/,
	// work/, personal/.
	Dataset string
	// TrainFraction is the share of each class a person decides (0.5).
	TrainFraction float64
	Seed          uint64
	// Connector is "mail" (default) or "folder".
	Connector string
	// HamClass is the class a person gives a ham document (personal).
	HamClass engram.Classification
	// Limit, when > 0, keeps at most this many documents of each class
	// (the first in id order after shuffling): a quick run for CI.
	Limit int
	// Learner trains the model; nil is classify.Learner{}, engram's own.
	Learner engram.Learner
}

// Step is one timed step of the run.
type Step struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
	Items   int     `json:"items"`
}

// ClassScore is one true class's precision, recall and F1.
type ClassScore struct {
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	Support   int     `json:"support"`
}

// Report is what a run measured on the documents not decided.
type Report struct {
	Engine   string                `json:"engine"`
	Dataset  string                `json:"dataset"`
	Seed     uint64                `json:"seed"`
	Train    int                   `json:"train"`
	Test     int                   `json:"test"`
	Classes  []string              `json:"classes"`
	PerClass map[string]ClassScore `json:"per_class"`
	// Confusion[true][predicted] counts test documents.
	Confusion map[string]map[string]int `json:"confusion"`
	// HamAsSpam is the share of not-spam test documents called spam.
	HamAsSpam float64 `json:"ham_called_spam"`
	// Brier is the mean squared gap between the stated confidence and
	// whether the verdict was right.
	Brier float64                `json:"brier"`
	Model engram.ClassifierModel `json:"model"`
	Steps []Step                 `json:"steps"`
}

// Run measures s on the dataset. s must be freshly migrated; a new tenant
// is made in it for the run.
func Run(ctx context.Context, s engram.Store, opt Options) (Report, error) {
	if opt.TrainFraction <= 0 || opt.TrainFraction >= 1 {
		return Report{}, fmt.Errorf("--train-fraction must be between 0 and 1, got %g", opt.TrainFraction)
	}
	if opt.Connector == "" {
		opt.Connector = "mail"
	}
	if opt.HamClass == "" {
		opt.HamClass = engram.ClassPersonal
	}
	root, err := filepath.Abs(opt.Dataset)
	if err != nil {
		return Report{}, err
	}
	labels, err := classDirs(root)
	if err != nil {
		return Report{}, err
	}
	rep := Report{Engine: s.Engine(), Dataset: opt.Dataset, Seed: opt.Seed, Classes: labels,
		PerClass: map[string]ClassScore{}, Confusion: map[string]map[string]int{}}
	step := func(name string, start time.Time, n int) {
		rep.Steps = append(rep.Steps, Step{name, math.Round(time.Since(start).Seconds()*1000) / 1000, n})
	}

	slug := fmt.Sprintf("eval-%d", time.Now().UnixNano())
	tn, key, err := s.CreateTenant(ctx, "Classification evaluation", slug)
	if err != nil {
		return Report{}, err
	}
	settings, _ := json.Marshal(tn.Settings)
	// Connectors read only under a root's folder of the tenant: the
	// dataset is linked there, as an operator would place a mail archive.
	roots, err := os.MkdirTemp("", "engram-eval-")
	if err != nil {
		return Report{}, err
	}
	defer os.RemoveAll(roots)
	if err := os.Symlink(root, filepath.Join(roots, slug)); err != nil {
		return Report{}, err
	}
	reg := connector.Registry{Roots: []string{roots}}

	// Sync each class folder through its own connector.
	start := time.Now()
	byLabel := map[string][]docRef{}
	synced := 0
	for _, label := range labels {
		raw, _ := json.Marshal(map[string]string{"path": filepath.Join(roots, slug, label)})
		valid, err := reg.ValidateSettings(slug, opt.Connector, raw)
		if err != nil {
			return Report{}, fmt.Errorf("connector for %s: %w", label, err)
		}
		c, err := s.CreateConnector(ctx, tn.ID, key.ID, opt.Connector, label, valid, 0)
		if err != nil {
			return Report{}, fmt.Errorf("connector for %s: %w", label, err)
		}
		src, err := reg.Open(tn.Slug, c.Type, c.Settings)
		if err != nil {
			return Report{}, err
		}
		r, err := ingest.Run(ctx, s, tn.ID, c.ID, src, ingest.Options{})
		if err != nil {
			return Report{}, fmt.Errorf("sync %s: %w", label, err)
		}
		synced += r.Created
		ids, err := connectorDocs(ctx, s, tn.ID, c.ID)
		if err != nil {
			return Report{}, err
		}
		byLabel[label] = ids
	}
	step("sync", start, synced)

	// A person decides a stratified share of each class.
	rng := rand.New(rand.NewPCG(opt.Seed, 15))
	var test []string
	truth := map[string]string{}
	start = time.Now()
	for _, label := range labels {
		refs := byLabel[label]
		// The split depends on the seed and the messages only.
		slices.SortFunc(refs, func(a, b docRef) int { return strings.Compare(a.ext, b.ext) })
		rng.Shuffle(len(refs), func(i, j int) { refs[i], refs[j] = refs[j], refs[i] })
		ids := make([]string, len(refs))
		for i, r := range refs {
			ids[i] = r.id
		}
		if opt.Limit > 0 && len(ids) > opt.Limit {
			ids = ids[:opt.Limit]
		}
		n := int(math.Round(float64(len(ids)) * opt.TrainFraction))
		for _, id := range ids {
			truth[id] = label
		}
		c := personClass(label, opt.HamClass)
		for from := 0; from < n; from += engram.MaxBulkIDs {
			if _, err := s.SetClassification(ctx, tn.ID, key.ID, ids[from:min(n, from+engram.MaxBulkIDs)], c); err != nil {
				return Report{}, err
			}
		}
		rep.Train += n
		test = append(test, ids[n:]...)
	}
	step("decide", start, rep.Train)

	start = time.Now()
	var l engram.Learner = classify.Learner{}
	if opt.Learner != nil {
		l = opt.Learner
	}
	rep.Model, err = s.TrainClassifier(ctx, tn.ID, key.ID, settings, l)
	if err != nil {
		return Report{}, fmt.Errorf("train: %w", err)
	}
	step("train", start, rep.Model.TrainingSize)

	// Classify the rest as POST /api/documents/classify does.
	start = time.Now()
	classifyFn := func(ctx context.Context, docs []engram.ClassifyInput) ([]engram.ClassifyResult, error) {
		c, err := s.TenantClassifier(ctx, tn.ID, l, classify.New())
		if err != nil {
			return nil, err
		}
		return c.Classify(ctx, settings, docs)
	}
	results := map[string]engram.ClassifyResult{}
	slices.Sort(test)
	for from := 0; from < len(test); from += engram.MaxClassifyLimit {
		out, err := s.ClassifyDocuments(ctx, tn.ID, key.ID, engram.ClassifySelection{IDs: test[from:min(len(test), from+engram.MaxClassifyLimit)]}, classifyFn)
		if err != nil {
			return Report{}, err
		}
		for id, r := range out.Results {
			results[id] = r
		}
	}
	step("classify", start, len(results))
	rep.Test = len(test)
	score(&rep, test, truth, results)
	return rep, nil
}

// classDirs lists the dataset's class folders.
func classDirs(root string) ([]string, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && slices.Contains([]string{"ham", "spam", "work", "personal"}, e.Name()) {
			out = append(out, e.Name())
		}
	}
	if len(out) < 2 {
		return nil, fmt.Errorf("%s: need at least two of the folders ham/, spam/, work/, personal/", root)
	}
	return out, nil
}

// personClass is the class a person gives a document of a folder.
func personClass(label string, ham engram.Classification) engram.Classification {
	if label == "ham" {
		return ham
	}
	return engram.Classification(label)
}

// predictedLabel maps a verdict to the dataset's folders: with a ham/
// folder, every class but spam counts as ham.
func predictedLabel(c engram.Classification, labels []string) string {
	if slices.Contains(labels, string(c)) {
		return string(c)
	}
	if c != engram.ClassSpam && slices.Contains(labels, "ham") {
		return "ham"
	}
	return string(c)
}

// docRef is a document's id and its connector's external id, which is
// the same from run to run and engine to engine (the id is not).
type docRef struct{ id, ext string }

// connectorDocs lists a connector's documents.
func connectorDocs(ctx context.Context, s engram.Store, tenantID, connectorID string) ([]docRef, error) {
	var ids []docRef
	for off := 0; ; off += engram.MaxListLimit {
		p, err := s.ListDocuments(ctx, tenantID, engram.DocumentFilter{ConnectorID: &connectorID, Limit: engram.MaxListLimit, Offset: off})
		if err != nil {
			return nil, err
		}
		for _, d := range p.Documents {
			ext := ""
			if d.ExternalID != nil {
				ext = *d.ExternalID
			}
			ids = append(ids, docRef{d.ID, ext})
		}
		if !p.HasMore {
			return ids, nil
		}
	}
}

func score(rep *Report, test []string, truth map[string]string, results map[string]engram.ClassifyResult) {
	tp, fp, sup := map[string]int{}, map[string]int{}, map[string]int{}
	notSpam, notSpamAsSpam := 0, 0
	var brier float64
	for _, id := range test {
		want := truth[id]
		r, ok := results[id]
		got := "unclassified"
		if ok {
			got = predictedLabel(r.Classification, rep.Classes)
		}
		if rep.Confusion[want] == nil {
			rep.Confusion[want] = map[string]int{}
		}
		rep.Confusion[want][got]++
		sup[want]++
		right := 0.0
		if got == want {
			tp[want]++
			right = 1
		} else {
			fp[got]++
		}
		brier += (r.Confidence - right) * (r.Confidence - right)
		if want != "spam" {
			notSpam++
			if got == "spam" {
				notSpamAsSpam++
			}
		}
	}
	for _, l := range rep.Classes {
		cs := ClassScore{Support: sup[l]}
		if tp[l]+fp[l] > 0 {
			cs.Precision = round(float64(tp[l]) / float64(tp[l]+fp[l]))
		}
		if sup[l] > 0 {
			cs.Recall = round(float64(tp[l]) / float64(sup[l]))
		}
		if cs.Precision+cs.Recall > 0 {
			cs.F1 = round(2 * cs.Precision * cs.Recall / (cs.Precision + cs.Recall))
		}
		rep.PerClass[l] = cs
	}
	if notSpam > 0 {
		rep.HamAsSpam = math.Round(float64(notSpamAsSpam)/float64(notSpam)*1e5) / 1e5
	}
	if len(test) > 0 {
		rep.Brier = round(brier / float64(len(test)))
	}
}

func round(x float64) float64 { return math.Round(x*1000) / 1000 }

// Text renders the report for a terminal.
func (r Report) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "engine %s, dataset %s, seed %d: %d decided by a person, %d classified\n\n", r.Engine, r.Dataset, r.Seed, r.Train, r.Test)
	fmt.Fprintf(&b, "%-10s %9s %9s %9s %8s\n", "class", "precision", "recall", "F1", "support")
	for _, l := range r.Classes {
		c := r.PerClass[l]
		fmt.Fprintf(&b, "%-10s %9.3f %9.3f %9.3f %8d\n", l, c.Precision, c.Recall, c.F1, c.Support)
	}
	cols := slices.Clone(r.Classes)
	for _, row := range r.Confusion {
		for k := range row {
			if !slices.Contains(cols, k) {
				cols = append(cols, k)
			}
		}
	}
	sort.Strings(cols[len(r.Classes):])
	fmt.Fprintf(&b, "\nconfusion (rows: true, columns: predicted)\n%-10s", "")
	for _, c := range cols {
		fmt.Fprintf(&b, " %10s", c)
	}
	b.WriteByte('\n')
	for _, l := range r.Classes {
		fmt.Fprintf(&b, "%-10s", l)
		for _, c := range cols {
			fmt.Fprintf(&b, " %10d", r.Confusion[l][c])
		}
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "\nnot spam called spam: %.2f%%\nBrier score: %.3f\n", 100*r.HamAsSpam, r.Brier)
	fmt.Fprintf(&b, "model %d: %d decisions, held-out figures %s\n\n", r.Model.Version, r.Model.TrainingSize, r.Model.Figures)
	for _, s := range r.Steps {
		fmt.Fprintf(&b, "%-9s %8.3f s  %6d items\n", s.Name, s.Seconds, s.Items)
	}
	return b.String()
}
