//go:build bench && !e2e

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"
)

// benchFigure is one measured quantity, a value per repeated run: the format
// of test/bench/results.go, which merges these files into BENCHMARKS.md.
type benchFigure struct {
	Unit   string    `json:"unit"`
	Values []float64 `json:"values"`
}

type benchResults map[string]*benchFigure

func (r benchResults) add(name, unit string, v float64) {
	f, ok := r[name]
	if !ok {
		f = &benchFigure{Unit: unit}
		r[name] = f
	}
	f.Values = append(f.Values, v)
}

// write saves the results as $BENCH_OUT/NAME.json (the current directory when
// BENCH_OUT is unset).
func (r benchResults) write(t *testing.T, name string) {
	t.Helper()
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		t.Fatalf("encode results: %v", err)
	}
	path := filepath.Join(os.Getenv("BENCH_OUT"), name+".json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatalf("write results: %v", err)
	}
	t.Logf("results in %s", path)
}

// benchEnvInt is the integer in the environment variable name, or def.
func benchEnvInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// medianDur is the median of ds (which it sorts).
func medianDur(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	if len(ds)%2 == 1 {
		return ds[len(ds)/2]
	}
	return (ds[len(ds)/2-1] + ds[len(ds)/2]) / 2
}

// quantileDur is the q quantile (nearest rank) of ds, which must be sorted
// (medianDur sorts them).
func quantileDur(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	i := int(q*float64(len(ds))+0.5) - 1
	return ds[max(0, min(i, len(ds)-1))]
}

func requireFile(t *testing.T, path, hint string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s missing (%s): %v", path, hint, err)
	}
}

func benchRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}
