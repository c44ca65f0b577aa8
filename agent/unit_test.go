package agent

import (
	"encoding/json"
	"flag"
	"reflect"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/jobcheck/jobcheck/contract"
)

func TestReasonPrecedence(t *testing.T) {
	exited := func(code int) syscall.WaitStatus { return syscall.WaitStatus(code << 8) }
	killed := func(sig syscall.Signal) syscall.WaitStatus { return syscall.WaitStatus(sig) }
	cases := []struct {
		name           string
		o              outcome
		reason, detail string
	}{
		{"exit 0", outcome{started: true, status: exited(0)}, "succeeded", ""},
		{"exit 0 after termination, stale", outcome{started: true, status: exited(0), terminating: true, stale: true}, "succeeded", ""},
		{"exit 1", outcome{started: true, status: exited(1)}, "failed", ""},
		{"not started", outcome{}, "failed", ""},
		{"SIGKILL", outcome{started: true, status: killed(syscall.SIGKILL)}, "signaled", "SIGKILL"},
		{"OOM kill", outcome{started: true, status: killed(syscall.SIGKILL), oomKill: true}, "oom_killed", "SIGKILL"},
		{"OOM kill of a grandchild, shell exits 137", outcome{started: true, status: exited(137), oomKill: true}, "oom_killed", ""},
		{"OOM kill while stale and terminating", outcome{started: true, status: killed(syscall.SIGKILL), oomKill: true, stale: true, terminating: true}, "oom_killed", "SIGKILL"},
		{"liveness kill, SIGTERM kills it", outcome{started: true, status: killed(syscall.SIGTERM), stale: true, terminating: true}, "hung", "SIGTERM"},
		{"liveness kill, trapped: exit 143", outcome{started: true, status: exited(143), stale: true, terminating: true}, "hung", ""},
		{"stale, killed by someone", outcome{started: true, status: killed(syscall.SIGKILL), stale: true}, "hung", "SIGKILL"},
		{"stale but exited by itself", outcome{started: true, status: exited(2), stale: true}, "failed", ""},
		{"drain, SIGTERM kills it", outcome{started: true, status: killed(syscall.SIGTERM), terminating: true}, "terminated", "SIGTERM"},
		{"drain, trapped: exit 143", outcome{started: true, status: exited(143), terminating: true}, "terminated", ""},
		{"SIGTERM nobody in Kubernetes sent", outcome{started: true, status: killed(syscall.SIGTERM)}, "signaled", "SIGTERM"},
	}
	for _, tc := range cases {
		if got, d := tc.o.reason(), tc.o.detail(); got != tc.reason || d != tc.detail {
			t.Errorf("%s: %q %q, want %q %q", tc.name, got, d, tc.reason, tc.detail)
		}
	}
}

func TestRunResultFollowsTheAttemptReason(t *testing.T) {
	for reason, want := range map[string]string{
		contract.ReasonSucceeded: contract.ResultSucceeded, contract.ReasonTerminated: contract.ResultStopped,
		contract.ReasonFailed: contract.ResultFailed, contract.ReasonHung: contract.ResultFailed,
		contract.ReasonOOMKilled: contract.ResultFailed, contract.ReasonSignaled: contract.ResultFailed,
	} {
		if got := runResult(reason); got != want {
			t.Errorf("runResult(%s) = %s, want %s", reason, got, want)
		}
	}
}

// golang.org/x/sys/unix is the oracle of the signal names.
func TestSignalNames(t *testing.T) {
	for s := syscall.Signal(1); s < 32; s++ {
		if got, want := signalName(s), unix.SignalName(s); got != want {
			t.Errorf("signal %d: %q, want %q", s, got, want)
		}
	}
	if got := signalName(34); got != "SIGRTMIN+2" {
		t.Errorf("signal 34: %q", got)
	}
}

// The hung pushes: the moment the last sign of life is older than the max
// age, again every HungRepushPeriod while it stays so, never while alive.
// The watcher's schedule is simulated: it wakes up when step says.
func TestHungSchedule(t *testing.T) {
	const maxAge = 10 * time.Minute
	t0 := time.Unix(1_700_000_000, 0)
	revived := 13 * time.Minute // the child shows life again, and goes on
	last := func(now time.Time) time.Time {
		if now.Sub(t0) >= revived {
			return now
		}
		return t0
	}
	s := hungState{nextCheck: t0.Add(contract.RefreshPeriod(maxAge))}
	var wakes, pushes []time.Duration
	for now := s.nextCheck; now.Sub(t0) < 30*time.Minute; {
		push, next := s.step(now, last(now), maxAge)
		wakes = append(wakes, now.Sub(t0))
		if push {
			pushes = append(pushes, now.Sub(t0))
		}
		if !next.After(now) {
			t.Fatalf("at +%s: next wake-up +%s is not later", now.Sub(t0), next.Sub(t0))
		}
		now = next
	}
	ms := time.Millisecond
	want := []time.Duration{maxAge + ms, maxAge + ms + contract.HungRepushPeriod, maxAge + ms + 2*contract.HungRepushPeriod}
	if !reflect.DeepEqual(pushes, want) {
		t.Errorf("hung pushes at %v, want %v (wake-ups %v)", pushes, want, wakes)
	}
	// Alive again (seen at the wake-up after +13m): the refreshes only.
	for _, w := range wakes {
		if w > revived+ms && w%contract.RefreshPeriod(maxAge) != 0 {
			t.Errorf("a wake-up at +%s while alive is no refresh (%v)", w, wakes)
		}
	}
}

// Staleness is judged at a moment with the signs of life seen until then.
func TestStaleAt(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	h := heartbeat{}
	h.lives.add(t0)
	h.lives.add(t0.Add(2 * time.Minute))
	h.lives.add(t0.Add(20 * time.Minute)) // after the termination: shutdown output
	for _, tc := range []struct {
		at    time.Duration
		stale bool
	}{{time.Minute, false}, {12 * time.Minute, false}, {12*time.Minute + time.Second, true}, {20 * time.Minute, false}} {
		if got := h.staleAt(t0.Add(tc.at), 10*time.Minute); got != tc.stale {
			t.Errorf("stale at +%s = %v, want %v", tc.at, got, tc.stale)
		}
	}
	var full heartbeat
	for i := range 100 {
		full.lives.add(t0.Add(time.Duration(i) * time.Second))
	}
	if full.staleAt(t0, time.Nanosecond) {
		t.Error("an attempt whose lives before t were dropped was judged stale")
	}
}

func TestParseStat(t *testing.T) {
	rest := " S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20"
	for _, tc := range []struct {
		line string
		ppid int
		cpu  uint64
		ok   bool
	}{
		{"42 (sh)" + rest, 1, 11 + 12 + 13 + 14, true},
		{"42 (a) b (c) d)" + rest, 1, 50, true},
		{"42 (x y)) S 7 2 3 4 5 6 7 8 9 10 100 200 -1 -1 15", 7, 300, true},
		{"42 sh S 1 2", 0, 0, false},
		{"42 (sh) S 1 2 3", 0, 0, false},
		{"42 (sh) S x 2 3 4 5 6 7 8 9 10 11 12 13 14 15", 0, 0, false},
	} {
		st, ok := parseStat([]byte(tc.line))
		if ok != tc.ok || st.ppid != tc.ppid || st.cpu != tc.cpu {
			t.Errorf("%q: %+v %v, want ppid %d cpu %d %v", tc.line, st, ok, tc.ppid, tc.cpu, tc.ok)
		}
	}
}

func TestResolveSettings(t *testing.T) {
	cases := []struct {
		name     string
		env      map[string]string
		args     []string
		strict   bool
		want     func(*Config)
		problems []string // sources of the problems
		err      string
	}{
		{name: "defaults", want: func(*Config) {}},
		{name: "environment", env: map[string]string{contract.EnvMaxAge: "45m", contract.EnvReport: "attempt", contract.EnvCompletionIndex: "007"},
			want: func(c *Config) { c.MaxAge, c.Report, c.Index = 45*time.Minute, "attempt", "7" }},
		{name: "flag wins", env: map[string]string{contract.EnvMaxAge: "45m"}, args: []string{"--max-age=1h"}, strict: true,
			want: func(c *Config) { c.MaxAge = time.Hour }},
		{name: "bad environment: defaults", env: map[string]string{contract.EnvMaxAge: "4s", contract.EnvHeartbeat: "cpu",
			contract.EnvGrace: "soon", contract.EnvCompletionIndex: "1e3"}, strict: true,
			want: func(*Config) {}, problems: []string{contract.EnvMaxAge, contract.EnvHeartbeat, contract.EnvGrace, contract.EnvCompletionIndex}},
		{name: "bad flag, strict", args: []string{"--report=x"}, strict: true, err: "--report"},
		{name: "bad flag, not strict: the environment's", env: map[string]string{contract.EnvMaxAge: "45m"}, args: []string{"--max-age=x"},
			want: func(c *Config) { c.MaxAge = 45 * time.Minute }, problems: []string{"--max-age"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("run", flag.ContinueOnError)
			f := Bind(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			got, problems, err := f.Resolve(func(k string) string { return tc.env[k] }, tc.strict)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want one naming %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := defaults()
			tc.want(&want)
			if got != want {
				t.Errorf("config %+v\nwant   %+v", got, want)
			}
			var sources []string
			for _, p := range problems {
				sources = append(sources, p.Source)
			}
			if strings.Join(sources, ",") != strings.Join(tc.problems, ",") {
				t.Errorf("problems %v, want %v", problems, tc.problems)
			}
		})
	}
}

// encoding/json is the oracle of the entrypoints' decoding.
func TestParseEntrypointsLikeEncodingJSON(t *testing.T) {
	for _, s := range entrypointSeeds {
		checkEntrypoints(t, s)
	}
}

var entrypointSeeds = []string{
	`{"linux/amd64": ["/app", "serve"], "linux/arm64": ["/app-arm"]}`,
	` { } `, `null`, `{"a": null}`, `{"a": [null, "x"]}`, `{"a": [], "a": ["b"]}`,
	`{"\u0041\n\"\\\/\b\f\r\t": ["\ud83d\ude00", "\ud83d", "\ud83dx", "\udc00\ud83d\ude00", "é", "\u00e9"]}`,
	"{\"a\": [\"\xff\xfe\"]}", `{"a": ["x",]}`, `{"a": "x"}`, `{"a": [1]}`, `[]`, `{`, `{"a" ["x"]}`, `{"a": ["x"]} x`,
	"{\"a\": [\"tab\tinside\"]}", `{"a": ["\x"]}`, `{"a": ["\u12"]}`, ``, `nul`, `{"a": [{"b": 1}]}`,
}

func checkEntrypoints(t *testing.T, s string) {
	t.Helper()
	got, err := parseEntrypoints(s)
	var want map[string][]string
	werr := json.Unmarshal([]byte(s), &want)
	if (err == nil) != (werr == nil) {
		t.Fatalf("%q: err %v, encoding/json: %v", s, err, werr)
	}
	if err == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("%q: %#v, encoding/json: %#v", s, got, want)
	}
}

func FuzzParseEntrypoints(f *testing.F) {
	for _, s := range entrypointSeeds {
		f.Add(s)
	}
	f.Fuzz(checkEntrypoints)
}

func TestEntrypointError(t *testing.T) {
	_, err := Entrypoint(`{"plan9/386": ["x"], "plan9/amd64": ["y"]}`, nil)
	if err == nil || !strings.Contains(err.Error(), "plan9/386, plan9/amd64") || !strings.Contains(err.Error(), contract.Platform(runtime.GOOS, runtime.GOARCH, variant)) {
		t.Errorf("err %v", err)
	}
	if _, err := Entrypoint(`{}`, nil); err == nil || !strings.Contains(err.Error(), "none") {
		t.Errorf("err %v", err)
	}
	argv, err := Entrypoint(`{"`+contract.Platform(runtime.GOOS, runtime.GOARCH, variant)+`": ["/app", "serve"]}`, []string{"--x"})
	if err != nil || strings.Join(argv, " ") != "/app serve --x" {
		t.Errorf("argv %q, err %v", argv, err)
	}
}

func TestTailKeepsTheLastLines(t *testing.T) {
	tl := newTail(3)
	tl.Write([]byte("one\ntwo\nth"))
	tl.Write([]byte("ree\nfour\nfi"))
	if got, want := tl.Lines(), []string{"three", "four", "fi"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Lines() = %q, want %q", got, want)
	}
	tl.Write([]byte(strings.Repeat("x", 10000) + "\n"))
	got := tl.Lines()
	if len(got) != 3 || len(got[2]) != tailLineLen {
		t.Errorf("a huge line must be capped at %d bytes, got %d lines, last %d bytes", tailLineLen, len(got), len(got[len(got)-1]))
	}
}

// encoding/json is the oracle of the Kuberhealthy report's encoding: it
// decodes ours to what it decodes its own to.
func TestKuberhealthyReportEncoding(t *testing.T) {
	for _, s := range khSeeds {
		checkKHEncoding(t, s)
	}
}

var khSeeds = []string{"", "plain", `quote " and \ backslash`, "tab\tnl\ncr\r\x00\x1f\x7f", "é ü \u2028 \u2029 😀", "bad \xff\xfe utf8", "<html> & </html>"}

func checkKHEncoding(t *testing.T, s string) {
	t.Helper()
	for _, rep := range []khReport{{OK: true, Errors: []string{}}, {OK: false, Errors: []string{s, "exit code 3 (failed)"}}} {
		ours := rep.marshal()
		var got, want khReport
		if err := json.Unmarshal(ours, &got); err != nil {
			t.Fatalf("%q: not JSON: %v: %s", s, err, ours)
		}
		theirs, _ := json.Marshal(rep)
		json.Unmarshal(theirs, &want)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: decodes to %#v, encoding/json's to %#v", s, got, want)
		}
	}
}

func FuzzKuberhealthyReportEncoding(f *testing.F) {
	for _, s := range khSeeds {
		f.Add(s)
	}
	f.Fuzz(checkKHEncoding)
}
