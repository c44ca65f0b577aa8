package pushgateway

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
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
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/metrics", nil)
	if err != nil {
		return fmt.Errorf("read back: %w", err)
	}
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("read back: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("read back %s/metrics: %s", c.base, resp.Status)
	}
	if err := scan(resp.Body, names, fn); err != nil {
		return fmt.Errorf("read back %s/metrics: %w", c.base, err)
	}
	return nil
}

func scan(r io.Reader, names []string, fn func(string, [][2]string, float64)) error {
	br := bufio.NewReaderSize(r, maxLine)
	var labels [][2]string
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
				var v float64
				var perr error
				labels, v, perr = parseSample(line[len(name):], labels[:0])
				if perr == nil {
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

// parseSample parses `{l="v",...} value [timestamp]` (the part after the name).
func parseSample(b []byte, labels [][2]string) ([][2]string, float64, error) {
	s := strings.TrimRight(string(b), "\r\n")
	if strings.HasPrefix(s, "{") {
		s = s[1:]
		for {
			s = strings.TrimLeft(s, " ")
			if strings.HasPrefix(s, "}") {
				s = s[1:]
				break
			}
			eq := strings.IndexByte(s, '=')
			if eq <= 0 || len(s) < eq+2 || s[eq+1] != '"' {
				return labels, 0, errors.New("malformed labels")
			}
			name := strings.TrimSpace(s[:eq])
			val, rest, err := unquote(s[eq+2:])
			if err != nil {
				return labels, 0, err
			}
			labels = append(labels, [2]string{name, val})
			s = strings.TrimLeft(rest, " ")
			if strings.HasPrefix(s, ",") {
				s = s[1:]
			}
		}
	}
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return labels, 0, errors.New("no value")
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	return labels, v, err
}

// unquote reads an escaped label value up to its closing quote and returns
// the value and what follows the quote.
func unquote(s string) (string, string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			return b.String(), s[i+1:], nil
		case '\\':
			if i+1 == len(s) {
				return "", "", errors.New("unterminated label value")
			}
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			default:
				b.WriteByte(s[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", "", errors.New("unterminated label value")
}

// Group returns the grouping key of a sample read by Scan: its labels
// without the metric's own (own) and without the Pushgateway's empty
// instance label. Compare it with a grouping key with SameGroup.
func Group(labels [][2]string, own ...string) [][2]string {
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

// SameGroup reports whether two grouping keys hold the same labels, in any
// order. An empty value equals an absent label, as in Prometheus.
func SameGroup(a, b [][2]string) bool {
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
