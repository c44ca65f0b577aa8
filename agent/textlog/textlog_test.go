package textlog

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

type textish struct{}

func (textish) MarshalText() ([]byte, error) { return []byte("as text"), nil }

type stringer struct{}

func (stringer) String() string { return "str ing" }

// log/slog's TextHandler is the oracle: the same calls write the same bytes.
func TestLinesAreSlogs(t *testing.T) {
	at := time.Date(2026, 11, 29, 12, 30, 0, 120_000_000, time.FixedZone("X", 3600))
	calls := []struct {
		level Level
		msg   string
		args  []any
	}{
		{LevelWarn, "pushgateway unavailable, metrics not reported (the job is not affected)", []any{"pushgateway", "http://pg:9091", "err", errors.New(`POST /metrics/job/x: 500 Internal Server Error: boom "quoted"`)}},
		{LevelError, "cannot run command", []any{"command", "no-such", "err", errors.New("exec no-such: no such file or directory")}},
		{LevelWarn, "bad setting", []any{"setting", "JOBCHECK_MAX_AGE", "value", "30", "default", "30m0s", "n", 3, "big", int64(-7), "u", uint64(9), "f", 1.5, "ok", true}},
		{LevelInfo, "", []any{"d", 1500 * time.Millisecond, "t", at, "m", textish{}, "s", stringer{}, "nil", nil}},
		{LevelWarn, "odd", []any{"k=v", "a b", "tab\there", "x", `back\slash`, "é", "ünïcödé", "\u00a0nbsp", "bad\xffutf8", "", "empty"}},
		{LevelDebug, "hidden at info", nil},
		{LevelWarn, "bad keys", []any{42, "lone"}},
	}
	for _, min := range []Level{LevelInfo, LevelDebug} {
		var got, want bytes.Buffer
		l := New(&got, min).With("prog", "jobcheck")
		l.now = func() time.Time { return at }
		oracle := slog.New(slog.NewTextHandler(&want, &slog.HandlerOptions{Level: slog.Level(min),
			ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
				if a.Key == slog.TimeKey {
					a.Value = slog.TimeValue(at)
				}
				return a
			}})).With("prog", "jobcheck")
		for _, c := range calls {
			switch c.level {
			case LevelDebug:
				l.Debug(c.msg, c.args...)
				oracle.Debug(c.msg, c.args...)
			case LevelInfo:
				l.Info(c.msg, c.args...)
				oracle.Info(c.msg, c.args...)
			case LevelWarn:
				l.Warn(c.msg, c.args...)
				oracle.Warn(c.msg, c.args...)
			default:
				l.Error(c.msg, c.args...)
				oracle.Error(c.msg, c.args...)
			}
		}
		g, w := strings.Split(got.String(), "\n"), strings.Split(want.String(), "\n")
		if len(g) != len(w) {
			t.Fatalf("level %v: %d lines, slog %d:\n%s\nslog:\n%s", min, len(g), len(w), got.String(), want.String())
		}
		for i := range g {
			if g[i] != w[i] {
				t.Errorf("level %v:\n got %s\nslog %s", min, g[i], w[i])
			}
		}
	}
}
