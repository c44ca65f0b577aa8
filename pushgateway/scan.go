package pushgateway

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/jobcheck/jobcheck/pushgateway/http1"
)

// maxLine bounds one line of /metrics; longer lines (huge label values) are
// skipped, so memory stays bounded whatever the Pushgateway holds.
const maxLine = 64 << 10

// Scan reads the Pushgateway's /metrics in the text format and calls fn for
// each sample of a metric named in names, with all its labels (the group's
// grouping key, the metric's own labels and the Pushgateway's empty
// instance label). It reads one line at a time: its memory does not grow
// with the number of groups the Pushgateway holds. fn's labels are only
// valid during the call.
func (c *Client) Scan(ctx context.Context, names []string, fn func(name string, labels [][2]string, value float64)) error {
	where := redact(c.base) + "/metrics"
	resp, err := c.http.Do(ctx, &http1.Request{URL: c.base + "/metrics", Header: [][2]string{{"Accept", "text/plain; version=0.0.4"}}})
	if err != nil {
		return fmt.Errorf("read back %s: %w", where, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("read back %s: %s", where, resp.Status)
	}
	if err := scan(resp.Body, names, fn); err != nil {
		return fmt.Errorf("read back %s: %w", where, err)
	}
	return nil
}

func scan(r io.Reader, names []string, fn func(string, [][2]string, float64)) error {
	br := bufio.NewReaderSize(r, maxLine)
	var p sampleParser
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// Too long to be one of ours: skip to the end of the line.
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			continue
		}
		if len(line) > 0 && line[0] != '#' {
			if name, ok := wanted(line, names); ok {
				if labels, v, ok := p.parse(line[len(name):]); ok {
					fn(name, labels, v)
				}
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// wanted returns the metric name the line starts with when it is in names.
func wanted(line []byte, names []string) (string, bool) {
	for _, n := range names {
		if len(line) > len(n) && string(line[:len(n)]) == n && (line[len(n)] == '{' || line[len(n)] == ' ') {
			return n, true
		}
	}
	return "", false
}

// sampleParser parses sample lines with few allocations, so that reading a
// Pushgateway of many groups makes little garbage: the labels slice is
// reused, label names are kept once, and only label values are new strings.
type sampleParser struct {
	labels [][2]string
	names  []string // label names seen so far (a Pushgateway has few)
}

// parse parses `{l="v",...} value [timestamp]` (the part after the name).
func (p *sampleParser) parse(b []byte) ([][2]string, float64, bool) {
	p.labels = p.labels[:0]
	b = bytes.TrimRight(b, "\r\n")
	if len(b) > 0 && b[0] == '{' {
		b = b[1:]
		for {
			b = bytes.TrimLeft(b, " ")
			if len(b) > 0 && b[0] == '}' {
				b = b[1:]
				break
			}
			eq := bytes.IndexByte(b, '=')
			if eq <= 0 || len(b) < eq+2 || b[eq+1] != '"' {
				return nil, 0, false
			}
			name := p.name(bytes.TrimSpace(b[:eq]))
			val, rest, ok := unquote(b[eq+2:])
			if !ok {
				return nil, 0, false
			}
			p.labels = append(p.labels, [2]string{name, val})
			b = bytes.TrimLeft(rest, " ")
			if len(b) > 0 && b[0] == ',' {
				b = b[1:]
			}
		}
	}
	b = bytes.TrimLeft(b, " \t")
	if i := bytes.IndexAny(b, " \t"); i >= 0 {
		b = b[:i] // a timestamp follows
	}
	if len(b) == 0 {
		return nil, 0, false
	}
	v, err := strconv.ParseFloat(string(b), 64) // no allocation: the compiler sees the conversion is temporary
	if err != nil {
		return nil, 0, false
	}
	return p.labels, v, true
}

// name returns the label name b as a string, allocated once per name.
func (p *sampleParser) name(b []byte) string {
	for _, n := range p.names {
		if n == string(b) {
			return n
		}
	}
	n := string(b)
	if len(p.names) < 64 {
		p.names = append(p.names, n)
	}
	return n
}

// unquote reads an escaped label value up to its closing quote and returns
// the value and what follows the quote.
func unquote(b []byte) (string, []byte, bool) {
	end := bytes.IndexByte(b, '"')
	if end < 0 {
		return "", nil, false
	}
	if bytes.IndexByte(b[:end], '\\') < 0 { // the usual case: nothing escaped
		if end == 0 {
			return "", b[1:], true
		}
		return string(b[:end]), b[end+1:], true
	}
	var out []byte
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '"':
			return string(out), b[i+1:], true
		case '\\':
			if i+1 == len(b) {
				return "", nil, false
			}
			i++
			if b[i] == 'n' {
				out = append(out, '\n')
			} else {
				out = append(out, b[i])
			}
		default:
			out = append(out, c)
		}
	}
	return "", nil, false
}

// group returns the grouping key of a sample read by Scan: its labels
// without the metric's own (own) and without the Pushgateway's empty
// instance label. Compare it with a grouping key with sameGroup.
func group(labels [][2]string, own ...string) [][2]string {
	out := make([][2]string, 0, len(labels))
	for _, l := range labels {
		if l[0] == "instance" && l[1] == "" {
			continue
		}
		skip := false
		for _, o := range own {
			if l[0] == o {
				skip = true
				break
			}
		}
		if !skip {
			out = append(out, l)
		}
	}
	return out
}

// InGroup reports whether a sample read by Scan, with these labels (the
// metric's own named in own), belongs to the group key: it is
// sameGroup(group(labels, own...), key) without an allocation, for a Scan
// callback, which runs for every sample of a metric in every group.
func InGroup(labels, key [][2]string, own ...string) bool {
	var buf [8][2]string
	g := buf[:0]
	for _, l := range labels {
		if (l[0] == "instance" && l[1] == "") || slices.Contains(own, l[0]) {
			continue
		}
		g = append(g, l)
	}
	return sameGroup(g, key)
}

// sameGroup reports whether two grouping keys hold the same labels, in any
// order. An empty value equals an absent label, as in Prometheus.
func sameGroup(a, b [][2]string) bool {
	count := func(g [][2]string) int {
		n := 0
		for _, l := range g {
			if l[1] != "" {
				n++
			}
		}
		return n
	}
	if count(a) != count(b) {
		return false
	}
	for _, l := range a {
		if l[1] == "" {
			continue
		}
		found := false
		for _, m := range b {
			if m[0] == l[0] {
				found = m[1] == l[1]
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
