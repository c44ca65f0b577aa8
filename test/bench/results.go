//go:build bench

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
)

// figure is one measured quantity: a value per repeated run. The report
// quotes the median. test/e2e/bench_results_test.go writes the same format.
type figure struct {
	Unit   string    `json:"unit"`
	Values []float64 `json:"values"`
}

// results maps a figure's name (see report.go) to its runs.
type results map[string]*figure

func (r results) add(name, unit string, v float64) {
	f, ok := r[name]
	if !ok {
		f = &figure{Unit: unit}
		r[name] = f
	}
	f.Values = append(f.Values, v)
}

func (r results) write(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode results: %w", err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	return nil
}

// readResults merges every results file named.
func readResults(paths ...string) (results, error) {
	all := results{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read results: %w", err)
		}
		var r results
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("parse results %s: %w", p, err)
		}
		for k, f := range r {
			all[k] = f
		}
	}
	return all, nil
}

// median of the runs of name; ok is false when it was not measured.
func (r results) median(name string) (float64, bool) {
	f, ok := r[name]
	if !ok || len(f.Values) == 0 {
		return 0, false
	}
	v := slices.Clone(f.Values)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2], true
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2, true
}
