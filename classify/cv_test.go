package classify

import (
	"encoding/gob"
	"fmt"
	"math"
	"os"
	"testing"

	"github.com/engram-kb/engram"
)

type dumpDoc struct {
	In    engram.ClassifyInput
	Class engram.Classification
}

// cvRun cross-validates the current choices over two classes, personal
// (ham) and spam: folds by position, which in id order is a random split.
func cvRun(t *testing.T, docs []dumpDoc, folds int) string {
	tr, _ := NewTrainer(nil)
	var all []trainDoc
	for i := range docs {
		tr.Add(&docs[i].In, docs[i].Class)
	}
	all = tr.docs
	for i := range all {
		all[i].idx = i
	}
	idx := []int{1, 2} // personal, spam
	for i := range all {
		all[i].class--
	}
	var tp, fp, fn, hamN, hamFP int
	var ll float64
	for k := range folds {
		var train, test []trainDoc
		for i, d := range all {
			if i%folds == k {
				test = append(test, d)
			} else {
				train = append(train, d)
			}
		}
		m := tr.fit(idx, train)
		p := make([]float64, 2)
		for _, d := range test {
			m.raw(d.feats, d.vals, p)
			softmax(p, 1)
			ll -= math.Log(max(p[d.class], 1e-12))
			pred := argmax(p)
			if os.Getenv("ENGRAM_CV_ERRORS") != "" && pred != d.class {
				fmt.Printf("ERR true=%d p=%.3f %s | %.200s\n", d.class, p[1], docs[d.idx].In.Title, docs[d.idx].In.Metadata)
			}
			if d.class == 1 {
				if pred == 1 {
					tp++
				} else {
					fn++
				}
			} else {
				hamN++
				if pred == 1 {
					fp++
					hamFP++
				}
			}
		}
	}
	P := float64(tp) / float64(tp+fp)
	R := float64(tp) / float64(tp+fn)
	return fmt.Sprintf("spamP %.3f R %.3f F1 %.4f hamFP %.2f%% (%d) logloss %.4f", P, R, 2*P*R/(P+R), 100*float64(hamFP)/float64(hamN), hamFP, ll/float64(len(all)))
}

// TestCrossValidate compares learner choices by 5-fold cross-validation
// over a dataset's training half, written by classify/eval's
// TestDumpTrainingHalf to the file ENGRAM_CV_DUMP names; ENGRAM_CV_CFG
// ("l2 logCounts balanced wordPairs messageIDs epochs maxDocFeatures")
// runs one setting instead of the list. docs/CLASSIFICATION.md says how
// engram's choices were made with it.
func TestCrossValidate(t *testing.T) {
	f, err := os.Open(os.Getenv("ENGRAM_CV_DUMP"))
	if err != nil {
		t.Skip("set ENGRAM_CV_DUMP to a file TestDumpTrainingHalf wrote")
	}
	var docs []dumpDoc
	if err := gob.NewDecoder(f).Decode(&docs); err != nil {
		t.Fatal(err)
	}
	type cfg struct {
		name             string
		l2               float64
		logc, bal, pairs bool
	}
	cfgs := []cfg{
		{"base", l2, false, false, false},
		{"logc", 1e-6, true, false, false},
		{"bal", 1e-6, false, true, false},
		{"pairs", 1e-6, false, false, true},
		{"l2 1e-5", 1e-5, false, false, false},
		{"l2 1e-4", 1e-4, false, false, false},
		{"l2 1e-7", 1e-7, false, false, false},
	}
	if os.Getenv("ENGRAM_CV_CFG") != "" {
		cfgs = nil
		var c cfg
		fmt.Sscanf(os.Getenv("ENGRAM_CV_CFG"), "%g %t %t %t %t %d %d", &c.l2, &c.logc, &c.bal, &c.pairs, &messageIDs, &epochs, &maxDocFeatures)
		c.name = os.Getenv("ENGRAM_CV_CFG")
		cfgs = append(cfgs, c)
	}
	for _, c := range cfgs {
		l2, logCounts, balanced, wordPairs = c.l2, c.logc, c.bal, c.pairs
		t.Logf("%-24s %s", c.name, cvRun(t, docs, 5))
	}
}
