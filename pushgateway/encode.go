package pushgateway

import (
	"bytes"
	"math"
	"strconv"
	"strings"
)

// Sample is one gauge series: a metric name, its own labels (not the
// grouping key's) and a value.
type Sample struct {
	Name   string
	Labels [][2]string
	Value  float64
}

// Family is the HELP text of each metric name; the Pushgateway refuses a
// metric whose help differs from the same metric in another group, so every
// pusher must send the same one. A nil Family sends no HELP lines.
type Family func(name string) string

// Encode writes samples in the Prometheus text exposition format (0.0.4):
// for each metric name, in the order of first appearance, its HELP and TYPE
// (gauge) lines, then its series.
func Encode(buf *bytes.Buffer, samples []Sample, help Family) {
	done := make([]bool, len(samples))
	for i := range samples {
		if done[i] {
			continue
		}
		name := samples[i].Name
		if help != nil {
			if h := help(name); h != "" {
				buf.WriteString("# HELP ")
				buf.WriteString(name)
				buf.WriteByte(' ')
				writeEscaped(buf, h, false)
				buf.WriteByte('\n')
			}
		}
		buf.WriteString("# TYPE ")
		buf.WriteString(name)
		buf.WriteString(" gauge\n")
		for j := i; j < len(samples); j++ {
			if samples[j].Name != name {
				continue
			}
			done[j] = true
			writeSample(buf, samples[j])
		}
	}
}

func writeSample(buf *bytes.Buffer, s Sample) {
	buf.WriteString(s.Name)
	if len(s.Labels) > 0 {
		buf.WriteByte('{')
		for i, l := range s.Labels {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.WriteString(l[0])
			buf.WriteString(`="`)
			writeEscaped(buf, l[1], true)
			buf.WriteByte('"')
		}
		buf.WriteByte('}')
	}
	buf.WriteByte(' ')
	buf.WriteString(formatFloat(s.Value))
	buf.WriteByte('\n')
}

// writeEscaped escapes a HELP text (backslash and newline) or a label value
// (also the double quote), as the text format wants.
func writeEscaped(buf *bytes.Buffer, s string, quote bool) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			buf.WriteString(`\\`)
		case c == '\n':
			buf.WriteString(`\n`)
		case c == '"' && quote:
			buf.WriteString(`\"`)
		default:
			buf.WriteByte(c)
		}
	}
}

func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// validName reports whether s is a valid metric or label name.
func validName(s string, metric bool) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(i > 0 && c >= '0' && c <= '9') || (metric && c == ':')
		if !ok {
			return false
		}
	}
	return !strings.HasPrefix(s, "__")
}
