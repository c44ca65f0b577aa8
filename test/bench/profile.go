//go:build bench

package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// frame is one line of `go tool pprof -top -cum`: a function and its
// cumulative share of the samples.
type frame struct {
	name string
	cum  float64 // percent
}

// readProfile parses `go tool pprof -top -cum` output, keeping the frames
// that say where the handler's time goes (not the runtime's or the harness's).
func readProfile(path string) ([]frame, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read profile: %w", err)
	}
	var frames []frame
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || !strings.HasSuffix(f[4], "%") {
			continue
		}
		cum, err := strconv.ParseFloat(strings.TrimSuffix(f[4], "%"), 64)
		if err != nil {
			continue
		}
		name := strings.Join(f[5:], " ")
		if strings.HasPrefix(name, "runtime.") || strings.HasPrefix(name, "testing.") || strings.Contains(name, "jobcheck/test/bench") {
			continue
		}
		frames = append(frames, frame{name: name, cum: cum})
	}
	return frames, nil
}

// hotspot is the jobcheck function below the handler's entry points that
// takes the most of the handler's time, as "NAME (N% of the handler's CPU time)".
func hotspot(frames []frame) string {
	var handler float64
	for _, f := range frames {
		if strings.HasSuffix(f.name, "webhook.(*Handler).ServeHTTP") {
			handler = f.cum
		}
	}
	for _, f := range frames {
		if !strings.Contains(f.name, "github.com/jobcheck/jobcheck/") {
			continue
		}
		if n := f.name; strings.HasSuffix(n, ".ServeHTTP") || strings.HasSuffix(n, ".serve") || strings.HasSuffix(n, ".admit") {
			continue
		}
		if handler == 0 {
			return ""
		}
		hot := fmt.Sprintf("`%s` (%.0f%% of the handler's CPU time)", strings.TrimPrefix(f.name, "github.com/jobcheck/jobcheck/"), 100*f.cum/handler)
		if lib := libraryHotspot(frames); lib.name != "" {
			hot += fmt.Sprintf("; the heaviest library function outside the JSON decoders is `%s` (%.0f%%)", lib.name, 100*lib.cum/handler)
		}
		return hot
	}
	return ""
}

// libraryHotspot is the heaviest frame of a third-party library other than
// the JSON codecs (which every handler, the floor's too, spends time in).
func libraryHotspot(frames []frame) frame {
	for _, f := range frames {
		first, _, _ := strings.Cut(f.name, "/")
		if !strings.Contains(first, ".") || strings.Contains(f.name, "jobcheck/jobcheck") ||
			strings.HasPrefix(f.name, "sigs.k8s.io/json") || strings.HasPrefix(f.name, "k8s.io/apimachinery/pkg/util/json") {
			continue
		}
		return f
	}
	return frame{}
}
