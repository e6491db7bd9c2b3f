package classify

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/engram-kb/engram"
)

// The learned model is logistic regression (softmax over the classes it
// knows) on the distinct hashed features of each document (features.go),
// each document's features scaled to unit length, trained by AdaGrad over
// a few shuffled epochs, with a temperature fitted on held-out decisions
// so that its confidence is calibrated.
const (
	// MinClassExamples is how many decisions of a class the model needs
	// before it decides that class; below it the rules keep it. Twenty
	// decisions give the class's weights some substance, and a held-out
	// fifth of them (4) a first check; the rules are a fair guess until
	// then and a person confirming a few dozen documents reaches it in a
	// day.
	MinClassExamples = 20
	// heldOutShare is the share of decisions kept out of training to
	// measure the model and fit its temperature (a fifth, by id).
	heldOutShare = 5
	// Training: AdaGrad's step, the epochs over the decisions and a light
	// L2 penalty; the usual defaults for a linear text classifier, not
	// chosen by any corpus's score. Classes are not reweighted: the
	// decisions people made are the best estimate of the mix that
	// arrives, and inflating a rare spam class would call more mail spam.
	learningRate = 0.5
	// maxTrainingDocs bounds the decisions a training holds (a uniform
	// sample of them beyond it), and maxDocFeatures each document's
	// features: together they bound a training's memory at 20,000 × 1,024
	// × 4 bytes (80 MiB) whatever the number of decisions.
	maxTrainingDocs = 20000
	modelFormat     = 2
)

var (
	modelClasses = []engram.Classification{engram.ClassWork, engram.ClassPersonal, engram.ClassSpam}
	// ErrTooFewDecisions is what Train returns when no two classes have
	// MinClassExamples decisions each.
	ErrTooFewDecisions = errors.New("too few decisions")
)

// Choices of the learner; variables only so the cross-validation
// harness (cv_test.go) can compare them on a dataset's training decisions.
// docs/CLASSIFICATION.md gives what each measured.
var (
	// l2 is the L2 penalty: 3e-5 had the lowest log loss in 5-fold
	// cross-validation over 1e-6 … 1e-4 on the training half.
	l2 = 3e-5
	// logCounts weights a feature by 1+ln(occurrences) instead of 1.
	logCounts = false
	// balanced weighs each class's examples by N/(k·N_class).
	balanced = false
	// wordPairs adds pairs of adjacent words as features.
	wordPairs = false
	// messageIDs adds the Message-ID's domain and shape.
	messageIDs = true
	epochs     = 5
	// maxDocFeatures bounds each document's features.
	maxDocFeatures = 1024
)

// Figures are a model's scores on the decisions held out of its training.
type Figures struct {
	HeldOut     int                                `json:"held_out"`
	Accuracy    float64                            `json:"accuracy"`
	Brier       float64                            `json:"brier"`
	PerClass    map[engram.Classification]ClassFig `json:"per_class"`
	Temperature float64                            `json:"temperature"`
}

// ClassFig is one class's precision and recall on held-out decisions.
type ClassFig struct {
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	Support   int     `json:"support"`
}

// Model is a trained model. It is read-only after Train or DecodeModel
// and safe for concurrent use.
type Model struct {
	classes []engram.Classification
	// examples is the number of training documents of each class.
	examples []int
	// w[c][b] is the weight of feature b for class c; bias[c] its bias.
	w           [][]float32
	bias        []float64
	temperature float64
}

// Classes lists the classes the model decides, with their example counts.
func (m *Model) Classes() map[engram.Classification]int {
	out := map[engram.Classification]int{}
	for i, c := range m.classes {
		out[c] = m.examples[i]
	}
	return out
}

// Trainer accumulates decisions in bounded memory (see maxTrainingDocs).
type Trainer struct {
	f    *featurizer
	docs []trainDoc
	// seen counts the decisions added, for the reservoir sample.
	seen int
	rng  *rand.Rand
}

// trainDoc is one decision: its class and distinct feature buckets.
type trainDoc struct {
	class int
	held  bool
	feats []uint32
	// vals are the features' values, of unit length together.
	vals []float32
	// idx is the document's position in the order added.
	idx int
}

// NewTrainer returns an empty trainer; settings are the tenant's settings
// (for the rules, whose evidence is part of the features).
func NewTrainer(settings json.RawMessage) (*Trainer, error) {
	cfg, err := parseSettings(settings)
	if err != nil {
		return nil, err
	}
	return &Trainer{f: newFeaturizer(&cfg), rng: rand.New(rand.NewPCG(1, 15))}, nil
}

func classIndex(c engram.Classification) int {
	return slices.Index(modelClasses, c)
}

// heldOut says whether a decision is held out: by a hash of its subject
// and opening, so a document stays on its side from one training to the
// next, and copies of one text are on the same side (a copy in training
// would flatter the held-out figures).
func heldOut(d *engram.ClassifyInput) bool {
	return hashFeature(d.Title, d.Content[:cutUTF8(d.Content, 500)])%heldOutShare == 0
}

// Add learns one decided document. Documents of class unknown are ignored.
func (t *Trainer) Add(d *engram.ClassifyInput, c engram.Classification) {
	ci := classIndex(c)
	if ci < 0 {
		return
	}
	feats, _ := t.f.features(d)
	feats = feats[:min(len(feats), maxDocFeatures)]
	doc := trainDoc{class: ci, held: heldOut(d), feats: make([]uint32, len(feats)), vals: make([]float32, len(feats))}
	norm := featureNorm(feats)
	for i, f := range feats {
		doc.feats[i] = f.bucket
		doc.vals[i] = float32(featureValue(f.n) * norm)
	}
	t.seen++
	if len(t.docs) < maxTrainingDocs {
		t.docs = append(t.docs, doc)
		return
	}
	if j := t.rng.IntN(t.seen); j < maxTrainingDocs {
		t.docs[j] = doc
	}
}

// featureValue is the value of a feature seen n times in a document.
func featureValue(n uint32) float64 {
	if !logCounts || n <= 1 {
		return 1
	}
	return 1 + math.Log(float64(n))
}

// featureNorm is what scales a document's feature values to unit length.
func featureNorm(feats []feature) float64 {
	var sum float64
	for _, f := range feats {
		v := featureValue(f.n)
		sum += v * v
	}
	return 1 / math.Sqrt(max(sum, 1))
}

// Train builds the model from what was added: the classes with at least
// MinClassExamples documents. It returns ErrTooFewDecisions when fewer
// than two classes qualify.
func (t *Trainer) Train() (*Model, Figures, error) {
	var perClass [3]int
	for _, d := range t.docs {
		perClass[d.class]++
	}
	var idx []int
	for c := range modelClasses {
		if perClass[c] >= MinClassExamples {
			idx = append(idx, c)
		}
	}
	if len(idx) < 2 {
		return nil, Figures{}, ErrTooFewDecisions
	}
	var train, held []trainDoc
	for _, d := range t.docs {
		if slices.Contains(idx, d.class) {
			d.class = slices.Index(idx, d.class)
			if d.held {
				held = append(held, d)
			} else {
				train = append(train, d)
			}
		}
	}
	m := t.fit(idx, train)
	figs := m.fitTemperature(held)
	// The final model learns from the held-out decisions too; the
	// temperature and figures measured without them stay.
	final := t.fit(idx, append(train, held...))
	final.temperature = m.temperature
	return final, figs, nil
}

// fit trains weights over docs (classes already mapped to idx positions).
func (t *Trainer) fit(idx []int, docs []trainDoc) *Model {
	k := len(idx)
	m := &Model{temperature: 1, bias: make([]float64, k)}
	g2 := make([][]float32, k)
	for c := range idx {
		m.classes = append(m.classes, modelClasses[idx[c]])
		m.w = append(m.w, make([]float32, numBuckets))
		g2[c] = make([]float32, numBuckets)
	}
	m.examples = make([]int, k)
	for _, d := range docs {
		m.examples[d.class]++
	}
	order := make([]int, len(docs))
	for i := range order {
		order[i] = i
	}
	rng := rand.New(rand.NewPCG(2, 15))
	p := make([]float64, k)
	bg2 := make([]float64, k)
	weight := make([]float64, k)
	for c := range k {
		weight[c] = 1
		if balanced && m.examples[c] > 0 {
			weight[c] = float64(len(docs)) / float64(k*m.examples[c])
		}
	}
	for range epochs {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, i := range order {
			d := &docs[i]
			m.raw(d.feats, d.vals, p)
			softmax(p, 1)
			for c := range k {
				y := 0.0
				if c == d.class {
					y = 1
				}
				g := (p[c] - y) * weight[d.class]
				bg2[c] += g * g
				m.bias[c] -= learningRate * g / math.Sqrt(bg2[c]+1e-8)
				g32 := float32(g)
				wc, gc := m.w[c], g2[c]
				for j, b := range d.feats {
					gb := g32*d.vals[j] + float32(l2)*wc[b]
					gc[b] += gb * gb
					wc[b] -= float32(learningRate) * gb / float32(math.Sqrt(float64(gc[b])+1e-8))
				}
			}
		}
	}
	return m
}

// raw writes the class scores (logits) of features of the given values
// into out.
func (m *Model) raw(feats []uint32, vals []float32, out []float64) {
	for c := range m.w {
		var s float32
		wc := m.w[c]
		for j, b := range feats {
			s += wc[b] * vals[j]
		}
		out[c] = m.bias[c] + float64(s)
	}
}

// logits scores a document's features.
func (m *Model) logits(feats []feature, out []float64) {
	feats = feats[:min(len(feats), maxDocFeatures)]
	norm := featureNorm(feats)
	for c := range m.w {
		s := 0.0
		wc := m.w[c]
		for _, f := range feats {
			s += float64(wc[f.bucket]) * featureValue(f.n)
		}
		out[c] = m.bias[c] + s*norm
	}
}

// softmax turns logits into probabilities at temperature temp, in place.
func softmax(s []float64, temp float64) {
	best := math.Inf(-1)
	for _, v := range s {
		best = max(best, v/temp)
	}
	var sum float64
	for i, v := range s {
		s[i] = math.Exp(v/temp - best)
		sum += s[i]
	}
	for i := range s {
		s[i] /= sum
	}
}

// fitTemperature picks the temperature that minimises the log loss on
// the held-out decisions (a grid in log space from 1 to 16), and returns
// the figures measured with it. It only ever softens the model: with a
// few held-out decisions all right, sharpening would look free and make
// every later verdict overconfident.
func (m *Model) fitTemperature(held []trainDoc) Figures {
	k := len(m.classes)
	figs := Figures{HeldOut: len(held), PerClass: map[engram.Classification]ClassFig{}, Temperature: 1}
	if len(held) == 0 {
		return figs
	}
	logits := make([][]float64, len(held))
	for i, d := range held {
		logits[i] = make([]float64, k)
		m.raw(d.feats, d.vals, logits[i])
	}
	p := make([]float64, k)
	bestLoss := math.Inf(1)
	for i := 0; i <= 40; i++ {
		temp := math.Exp(float64(i) * 0.07)
		var loss float64
		for j, d := range held {
			copy(p, logits[j])
			softmax(p, temp)
			loss -= math.Log(max(p[d.class], 1e-12))
		}
		if loss < bestLoss {
			bestLoss, figs.Temperature = loss, round(temp)
		}
	}
	m.temperature = figs.Temperature
	tp, fp, sup := make([]int, k), make([]int, k), make([]int, k)
	correct := 0
	var brier float64
	for j, d := range held {
		copy(p, logits[j])
		softmax(p, m.temperature)
		win := argmax(p)
		sup[d.class]++
		if win == d.class {
			correct++
			tp[win]++
		} else {
			fp[win]++
		}
		for c := range p {
			y := 0.0
			if c == d.class {
				y = 1
			}
			brier += (p[c] - y) * (p[c] - y)
		}
	}
	figs.Accuracy = round(float64(correct) / float64(len(held)))
	figs.Brier = round(brier / float64(len(held)))
	for c := range k {
		f := ClassFig{Support: sup[c]}
		if tp[c]+fp[c] > 0 {
			f.Precision = round(float64(tp[c]) / float64(tp[c]+fp[c]))
		}
		if sup[c] > 0 {
			f.Recall = round(float64(tp[c]) / float64(sup[c]))
		}
		figs.PerClass[m.classes[c]] = f
	}
	return figs
}

func argmax(p []float64) int {
	best := 0
	for i, v := range p {
		if v > p[best] {
			best = i
		}
	}
	return best
}

// Encode serialises the model: its classes, example counts, biases,
// temperature and non-zero weights, little-endian, gzip-compressed.
func (m *Model) Encode() ([]byte, error) {
	le := binary.LittleEndian
	raw := make([]byte, 0, 1<<20)
	raw = le.AppendUint32(raw, modelFormat)
	raw = le.AppendUint32(raw, uint32(len(m.classes)))
	raw = le.AppendUint64(raw, math.Float64bits(m.temperature))
	for c, cl := range m.classes {
		raw = le.AppendUint32(raw, uint32(len(cl)))
		raw = append(raw, cl...)
		raw = le.AppendUint32(raw, uint32(m.examples[c]))
		raw = le.AppendUint64(raw, math.Float64bits(m.bias[c]))
		nz := 0
		for _, v := range m.w[c] {
			if v != 0 {
				nz++
			}
		}
		raw = le.AppendUint32(raw, uint32(nz))
		for b, v := range m.w[c] {
			if v != 0 {
				raw = le.AppendUint32(raw, uint32(b))
				raw = le.AppendUint32(raw, math.Float32bits(v))
			}
		}
	}
	var buf bytes.Buffer
	z, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if _, err := z.Write(raw); err != nil {
		return nil, err
	}
	if err := z.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// maxModelBytes bounds a decoded model: three classes of every bucket.
const maxModelBytes = 64 + 3*(40+8*numBuckets)

// DecodeModel reads a model Encode wrote.
func DecodeModel(data []byte) (*Model, error) {
	z, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("classifier model: %w", err)
	}
	raw, err := io.ReadAll(io.LimitReader(z, maxModelBytes+1))
	if err != nil {
		return nil, fmt.Errorf("classifier model: %w", err)
	}
	if len(raw) > maxModelBytes {
		return nil, errors.New("classifier model: too large")
	}
	bad := errors.New("classifier model: truncated or damaged")
	le := binary.LittleEndian
	u32 := func() (uint32, bool) {
		if len(raw) < 4 {
			return 0, false
		}
		v := le.Uint32(raw)
		raw = raw[4:]
		return v, true
	}
	f64 := func() (float64, bool) {
		if len(raw) < 8 {
			return 0, false
		}
		v := math.Float64frombits(le.Uint64(raw))
		raw = raw[8:]
		return v, true
	}
	format, ok1 := u32()
	n, ok2 := u32()
	temp, ok3 := f64()
	if !ok1 || !ok2 || !ok3 {
		return nil, bad
	}
	if format != modelFormat || n < 2 || n > 3 || !(temp > 0) {
		return nil, fmt.Errorf("classifier model: format %d with %d classes is not one this engram reads", format, n)
	}
	m := &Model{temperature: temp}
	for range n {
		ln, ok := u32()
		if !ok || ln > 20 || int(ln) > len(raw) {
			return nil, bad
		}
		cl := engram.Classification(raw[:ln])
		raw = raw[ln:]
		if classIndex(cl) < 0 || slices.Contains(m.classes, cl) {
			return nil, fmt.Errorf("classifier model: unexpected class %q", cl)
		}
		ex, ok1 := u32()
		bias, ok2 := f64()
		nz, ok3 := u32()
		if !ok1 || !ok2 || !ok3 || nz > numBuckets || int(nz)*8 > len(raw) {
			return nil, bad
		}
		w := make([]float32, numBuckets)
		for range nz {
			b, _ := u32()
			v, _ := u32()
			if b >= numBuckets {
				return nil, bad
			}
			w[b] = math.Float32frombits(v)
		}
		m.classes = append(m.classes, cl)
		m.examples = append(m.examples, int(ex))
		m.bias = append(m.bias, bias)
		m.w = append(m.w, w)
	}
	return m, nil
}

// Learned is the classifier of a tenant with a model: the model decides
// the classes it knows, the rules the rest (see Classify). A nil model
// is the rules alone.
type Learned struct {
	model   *Model
	version int
}

// NewLearned returns the classifier of a tenant whose current model is
// m (nil: none yet), of the given version.
func NewLearned(m *Model, version int) *Learned { return &Learned{model: m, version: version} }

var _ engram.Classifier = (*Learned)(nil)

// Classify classifies docs: each with the rules, and, when there is a
// model, with the model, whose verdict wins unless the rules are sure of a
// class the model does not know yet (fewer than MinClassExamples
// decisions). Errors are those of Rules.Classify.
func (l *Learned) Classify(ctx context.Context, settings json.RawMessage, docs []engram.ClassifyInput) ([]engram.ClassifyResult, error) {
	if l.model == nil {
		return (&Rules{}).Classify(ctx, settings, docs)
	}
	cfg, err := parseSettings(settings)
	if err != nil {
		return nil, err
	}
	out := make([]engram.ClassifyResult, len(docs))
	err = inParallel(ctx, len(docs), func(from, to int) error {
		f := getFeaturizer(&cfg)
		defer putFeaturizer(f)
		s := make([]float64, len(l.model.classes))
		for i := from; i < to; i++ {
			if (i-from)%ctxEvery == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			out[i] = l.classifyOne(f, &docs[i], s)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// classifyOne classifies one document with f's buffers and s, a slice of
// one score per class.
func (l *Learned) classifyOne(f *featurizer, d *engram.ClassifyInput, s []float64) engram.ClassifyResult {
	m := l.model
	feats, rules := f.features(d)
	if !slices.Contains(m.classes, rules.Classification) && rules.Classification != engram.ClassUnknown && !rules.IsBorderline {
		return rules
	}
	m.logits(feats, s)
	softmax(s, m.temperature)
	win := argmax(s)
	conf := round(min(s[win], maxConfidence))
	return engram.ClassifyResult{
		Classification: m.classes[win],
		Confidence:     conf,
		Reason:         m.reason(win, feats, l.version),
		IsBorderline:   conf < engram.BorderlineConfidence,
	}
}

// reasonFeatures is how many features a reason names.
const reasonFeatures = 4

// reason names the features that pushed hardest towards the winner over
// the runner-up, in words: "learned from 812 decisions (model 3):
// subject word 'mortgage', a mailing list, sender domain x.example".
func (m *Model) reason(win int, feats []feature, version int) string {
	type pull struct {
		f  feature
		by float64
	}
	// The strongest few, kept by insertion: a document has a thousand
	// features and a reason names four (more are kept for the words that
	// repeat as subject word, word and rule).
	const keep = 3 * reasonFeatures
	pulls := make([]pull, 0, keep+1)
	for _, f := range feats {
		if f.label == "" {
			continue
		}
		// The feature's log-odds for the winner against the strongest
		// other class.
		other := math.Inf(1)
		for c := range m.w {
			if c != win {
				other = min(other, float64(m.w[win][f.bucket]-m.w[c][f.bucket]))
			}
		}
		if other <= 0 || (len(pulls) == keep && other <= pulls[keep-1].by) {
			continue
		}
		i := len(pulls)
		pulls = append(pulls, pull{f, other})
		for i > 0 && pulls[i-1].by < other {
			pulls[i] = pulls[i-1]
			i--
		}
		pulls[i] = pull{f, other}
		if len(pulls) > keep {
			pulls = pulls[:keep]
		}
	}
	total := 0
	for _, e := range m.examples {
		total += e
	}
	var b strings.Builder
	fmt.Fprintf(&b, "model %d, learned from %d decisions: ", version, total)
	// One word can be several features (a rule, a subject word, a body
	// word): the reason names it once, as its strongest.
	named := map[string]bool{}
	n := 0
	for _, p := range pulls {
		text := p.f.text()
		if n == reasonFeatures || b.Len()+len(text) > maxReasonLen-4 {
			break
		}
		key := text
		if i := strings.IndexByte(key, '\''); i >= 0 {
			key = key[i:]
		}
		if named[key] {
			continue
		}
		named[key] = true
		if n > 0 {
			b.WriteString(", ")
		}
		b.WriteString(text)
		n++
	}
	if n == 0 {
		b.WriteString("no single strong signal")
	}
	return b.String()
}
