// Package textlog writes structured log lines exactly as log/slog's
// TextHandler writes them (time=... level=WARN msg="..." key=value ...),
// for the in-pod agent. log/slog itself would add 300 KB to every job pod's
// agent (its handlers link encoding/json whichever one is used), and a
// little to every liveness probe's start; the agent logs a handful of
// lines. The tests use slog's TextHandler as the oracle.
package textlog

import (
	"encoding"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Level is a log level, numbered as slog.Level.
type Level int

// The levels, as slog's.
const (
	LevelDebug Level = -4
	LevelInfo  Level = 0
	LevelWarn  Level = 4
	LevelError Level = 8
)

func (l Level) String() string {
	switch l {
	case LevelDebug:
		return "DEBUG"
	case LevelInfo:
		return "INFO"
	case LevelWarn:
		return "WARN"
	}
	return "ERROR"
}

// Logger writes lines of its level and above to one writer, each with one
// Write call. It is safe for concurrent use.
type Logger struct {
	out   *output
	min   Level
	attrs []byte // the With attributes, formatted
	now   func() time.Time
}

type output struct {
	mu sync.Mutex
	w  io.Writer
}

// New returns a logger writing lines of level min and above to w.
func New(w io.Writer, min Level) *Logger {
	return &Logger{out: &output{w: w}, min: min, now: time.Now}
}

// With returns a logger that adds the key-value pairs args to every line.
func (l *Logger) With(args ...any) *Logger {
	c := *l
	c.attrs = appendAttrs(append([]byte(nil), l.attrs...), args)
	return &c
}

// Enabled reports whether lines of level lv are written.
func (l *Logger) Enabled(lv Level) bool { return lv >= l.min }

func (l *Logger) Debug(msg string, args ...any) { l.log(LevelDebug, msg, args) }
func (l *Logger) Info(msg string, args ...any)  { l.log(LevelInfo, msg, args) }
func (l *Logger) Warn(msg string, args ...any)  { l.log(LevelWarn, msg, args) }
func (l *Logger) Error(msg string, args ...any) { l.log(LevelError, msg, args) }

func (l *Logger) log(lv Level, msg string, args []any) {
	if !l.Enabled(lv) {
		return
	}
	b := make([]byte, 0, 256)
	b = append(b, "time="...)
	b = appendTime(b, l.now())
	b = append(b, " level="...)
	b = append(b, lv.String()...)
	b = append(b, " msg="...)
	b = appendString(b, msg)
	b = append(b, l.attrs...)
	b = appendAttrs(b, args)
	b = append(b, '\n')
	l.out.mu.Lock()
	defer l.out.mu.Unlock()
	l.out.w.Write(b)
}

// appendAttrs appends " key=value" for each pair of args, as slog does: a
// key that is not a string, or a last key without a value, is !BADKEY.
func appendAttrs(b []byte, args []any) []byte {
	for len(args) > 0 {
		key, ok := args[0].(string)
		var v any
		switch {
		case !ok:
			key, v, args = "!BADKEY", args[0], args[1:]
		case len(args) == 1:
			key, v, args = "!BADKEY", args[0], nil
		default:
			v, args = args[1], args[2:]
		}
		b = append(b, ' ')
		b = appendString(b, key)
		b = append(b, '=')
		b = appendValue(b, v)
	}
	return b
}

func appendValue(b []byte, v any) []byte {
	switch v := v.(type) {
	case string:
		return appendString(b, v)
	case int:
		return strconv.AppendInt(b, int64(v), 10)
	case int64:
		return strconv.AppendInt(b, v, 10)
	case uint64:
		return strconv.AppendUint(b, v, 10)
	case float64:
		return strconv.AppendFloat(b, v, 'g', -1, 64)
	case bool:
		return strconv.AppendBool(b, v)
	case time.Duration:
		return append(b, v.String()...)
	case time.Time:
		return appendTime(b, v)
	case encoding.TextMarshaler:
		t, err := v.MarshalText()
		if err != nil {
			return append(b, "!ERROR:"+err.Error()...)
		}
		return appendString(b, string(t))
	case nil:
		return append(b, "<nil>"...)
	}
	return appendString(b, fmt.Sprintf("%+v", v))
}

// appendTime writes RFC 3339 with milliseconds, as slog does.
func appendTime(b []byte, t time.Time) []byte {
	const prefix = len("2006-01-02T15:04:05.000")
	n := len(b)
	// RFC3339Nano trims trailing zeros: add 1/10 ms for four digits, drop the fourth.
	b = t.Truncate(time.Millisecond).Add(time.Millisecond/10).AppendFormat(b, time.RFC3339Nano)
	return append(b[:n+prefix], b[n+prefix+1:]...)
}

// appendString writes s, quoted when slog's text handler would quote it.
func appendString(b []byte, s string) []byte {
	if needsQuoting(s) {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

func needsQuoting(s string) bool {
	if s == "" {
		return true
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			// Printable ASCII is safe but for the space, '=' and '"' (a
			// backslash is not quoted, as in slog).
			if c == ' ' || c == '=' || c == '"' || c < 0x20 {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return true
		}
		i += size
	}
	return false
}
