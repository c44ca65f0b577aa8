//go:build bench

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
)

// hyperfine runs the commands with hyperfine (no intermediate shell, warm-up
// runs first, env as their whole environment; a command that fails fails
// the benchmark) and returns each one's median wall time in milliseconds,
// in order.
func hyperfine(dir string, env []string, warmup, runs int, commands ...string) ([]float64, error) {
	out := filepath.Join(dir, "hyperfine.json")
	args := []string{"-N", "--style", "none", "--warmup", strconv.Itoa(warmup), "--runs", strconv.Itoa(runs), "--export-json", out}
	cmd := exec.Command("hyperfine", append(args, commands...)...)
	cmd.Env = env
	var stderr bytes.Buffer // its warnings about outliers are expected on a shared machine
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("hyperfine %q: %w: %s", commands, err, stderr.Bytes())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return nil, fmt.Errorf("hyperfine results: %w", err)
	}
	var r struct {
		Results []struct {
			Command string  `json:"command"`
			Median  float64 `json:"median"`
		} `json:"results"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("parse hyperfine results: %w", err)
	}
	if len(r.Results) != len(commands) {
		return nil, fmt.Errorf("hyperfine: %d results for %d commands", len(r.Results), len(commands))
	}
	ms := make([]float64, len(commands))
	for i, res := range r.Results {
		ms[i] = res.Median * 1000
	}
	return ms, nil
}
