package pushgateway

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/jobcheck/jobcheck/pushgateway/http1"
)

// Client pushes to and reads from one Pushgateway. Each call makes one HTTP
// request on a connection of its own, bounded by ctx; retrying is the
// caller's choice.
type Client struct {
	base string // scheme://host[:port][/path], no trailing slash
	http http1.Client
	help Family
}

// New returns a client of the Pushgateway at rawURL. A URL without a scheme
// ("pushgw:9091") means http://, as client_golang's push package does. User
// info in the URL is sent as basic authentication. tlsConfig configures
// https (nil: the system's roots). help gives each metric's HELP text (nil:
// none).
func New(rawURL string, tlsConfig *tls.Config, help Family) (*Client, error) {
	if !strings.Contains(rawURL, "://") {
		rawURL = "http://" + rawURL
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("pushgateway URL %q: %w", rawURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("pushgateway URL %q: want http:// or https:// and a host", rawURL)
	}
	return &Client{base: strings.TrimRight(rawURL, "/"), http: http1.Client{TLS: tlsConfig}, help: help}, nil
}

// URL is the Pushgateway's base URL, without its user info.
func (c *Client) URL() string { return redact(c.base) }

// redact removes the password of a URL, for messages.
func redact(rawURL string) string {
	if u, err := url.Parse(rawURL); err == nil && u.User != nil {
		return u.Redacted()
	}
	return rawURL
}

// GroupPath is the path of a group below the Pushgateway's base URL:
// /metrics/job/JOB/LABEL/VALUE... A value that is empty or holds a slash
// is sent base64-encoded (LABEL@base64/VALUE), as the Pushgateway's API says.
// grouping must start with the job label.
func GroupPath(grouping [][2]string) (string, error) {
	if len(grouping) == 0 || grouping[0][0] != "job" || grouping[0][1] == "" {
		return "", fmt.Errorf("grouping key %v: want a non-empty job label first", grouping)
	}
	var b strings.Builder
	b.WriteString("/metrics")
	for _, kv := range grouping {
		if !validName(kv[0], false) {
			return "", fmt.Errorf("grouping key: invalid label name %q", kv[0])
		}
		b.WriteByte('/')
		b.WriteString(kv[0])
		switch {
		case kv[1] == "":
			b.WriteString("@base64/=")
		case strings.Contains(kv[1], "/"):
			b.WriteString("@base64/")
			b.WriteString(base64.RawURLEncoding.EncodeToString([]byte(kv[1])))
		default:
			b.WriteByte('/')
			b.WriteString(url.PathEscape(kv[1]))
		}
	}
	return b.String(), nil
}

// Add pushes samples to the group with POST: the metrics they name replace
// the same-named metrics of the group; the group's other metrics stay.
func (c *Client) Add(ctx context.Context, grouping [][2]string, samples []Sample) error {
	for _, s := range samples {
		if !validName(s.Name, true) {
			return fmt.Errorf("push: invalid metric name %q", s.Name)
		}
		for _, l := range s.Labels {
			if !validName(l[0], false) {
				return fmt.Errorf("push: metric %s: invalid label name %q", s.Name, l[0])
			}
		}
	}
	var body bytes.Buffer
	Encode(&body, samples, c.help)
	return c.do(ctx, "POST", grouping, body.Bytes())
}

// Delete removes the whole group.
func (c *Client) Delete(ctx context.Context, grouping [][2]string) error {
	return c.do(ctx, "DELETE", grouping, nil)
}

func (c *Client) do(ctx context.Context, method string, grouping [][2]string, body []byte) error {
	p, err := GroupPath(grouping)
	if err != nil {
		return err
	}
	req := &http1.Request{Method: method, URL: c.base + p, Body: body}
	if body != nil {
		req.Header = [][2]string{{"Content-Type", "text/plain; version=0.0.4; charset=utf-8"}}
	}
	resp, err := c.http.Do(ctx, req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, redact(c.base)+p, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s %s: %s: %s", method, redact(c.base)+p, resp.Status, strings.TrimSpace(string(msg)))
	}
	return nil
}
