package main

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestSetMemoryLimit(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	const mib = 1 << 20
	for _, tc := range []struct {
		name string
		env  map[string]string
		want int64  // the limit set, 0: none
		err  string // "" : no error
	}{
		{"256Mi limit", map[string]string{envMemoryLimit: "268435456"}, 256 * mib * 9 / 10, ""},
		{"1Gi limit", map[string]string{envMemoryLimit: "1073741824"}, 1024 * mib * 9 / 10, ""},
		{"GOMEMLIMIT wins", map[string]string{envMemoryLimit: "268435456", "GOMEMLIMIT": "100MiB"}, 0, ""},
		{"no limit given", nil, 0, ""},
		{"not a number", map[string]string{envMemoryLimit: "256Mi"}, 0, `JOBCHECK_MEMORY_LIMIT="256Mi": want the container's memory limit in bytes`},
		{"zero", map[string]string{envMemoryLimit: "0"}, 0, "want the container's memory limit in bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			debug.SetMemoryLimit(before)
			got, err := setMemoryLimit(func(k string) string { return tc.env[k] })
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("err = %v, want %q", err, tc.err)
			}
			// within a byte of 90%: the float rounding
			if got < tc.want-1 || got > tc.want+1 {
				t.Errorf("limit = %d, want %d (90%% of the container's)", got, tc.want)
			}
			runtime := debug.SetMemoryLimit(-1)
			if tc.want == 0 && runtime != before || tc.want != 0 && runtime != got {
				t.Errorf("runtime memory limit = %d after setting %d (was %d)", runtime, got, before)
			}
		})
	}
}
