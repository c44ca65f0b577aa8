//go:build bench

package main

import (
	"os"
	"runtime"
	"strconv"
	"testing"
)

// allocEnv makes this test binary a child that touches that many MiB just
// before it exits with code 3 (see TestMain).
const allocEnv = "BENCH_TEST_ALLOC_MIB"

func TestMain(m *testing.M) {
	if v := os.Getenv(allocEnv); v != "" {
		n, _ := strconv.Atoi(v)
		b := make([]byte, n<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		runtime.KeepAlive(b)
		os.Exit(3)
	}
	os.Exit(m.Run())
}

func TestMeasurePeak(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		argv   []string
		env    []string
		code   int
		minKiB int64
	}{
		// The peak comes in the last moment: only a reading at the exit sees it.
		{"allocates before exiting", []string{self}, []string{allocEnv + "=64"}, 3, 64 << 10},
		// A signal for the traced process is delivered, not swallowed.
		{"killed by a signal", []string{"/bin/sh", "-c", "kill -TERM $$"}, nil, 128 + 15, 1},
		{"exit code", []string{"/bin/sh", "-c", "exit 7"}, nil, 7, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := measurePeak(tc.argv, tc.env, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if p.Code != tc.code {
				t.Errorf("exit code %d, want %d", p.Code, tc.code)
			}
			if p.HWM < tc.minKiB || p.RSS > p.HWM {
				t.Errorf("VmHWM %d KiB, VmRSS %d KiB: want VmHWM >= %d KiB and VmRSS <= VmHWM", p.HWM, p.RSS, tc.minKiB)
			}
		})
	}
	if _, err := measurePeak([]string{"/nonexistent/cmd"}, nil, nil, nil); err == nil {
		t.Error("a command that does not exist: no error")
	}
}
