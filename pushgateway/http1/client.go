package http1

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Request is one request. Header holds extra header fields; Host,
// Content-Length, Connection and (for a URL with user info) Authorization
// are set by Do.
type Request struct {
	Method string
	URL    string
	Header [][2]string
	Body   []byte
}

// Response is the answer to a request. Body must be closed: it holds the
// connection.
type Response struct {
	StatusCode int
	Status     string // "404 Not Found"
	Header     [][2]string
	Body       io.ReadCloser
}

// Get returns the value of the first header field named name (any case).
func (r *Response) Get(name string) string {
	for _, h := range r.Header {
		if strings.EqualFold(h[0], name) {
			return h[1]
		}
	}
	return ""
}

// Client sends requests. The zero value uses the system's root CAs for https.
type Client struct {
	// TLS configures https connections; nil means the defaults. ServerName
	// is taken from the URL when empty.
	TLS *tls.Config
}

// Limits on what a server may send before the body.
const (
	maxLine    = 8 << 10 // one status or header line, one chunk size line
	maxHeaders = 200     // header fields of one response
)

// Do sends req and reads the response's status line and header. ctx bounds
// the whole exchange, the reading of the body included: when ctx ends, a
// blocked read or write returns an error.
func (c *Client) Do(ctx context.Context, req *Request) (*Response, error) {
	u, err := url.Parse(req.URL)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("unsupported scheme %q", u.Scheme)
	}
	if u.Host == "" {
		return nil, errors.New("no host in URL")
	}
	for _, h := range req.Header {
		if h[0] == "" || strings.ContainsAny(h[0], "\r\n: ") || strings.ContainsAny(h[1], "\r\n") {
			return nil, fmt.Errorf("invalid header field %q", clip(h[0]+": "+h[1]))
		}
	}
	port := u.Port()
	switch {
	case port != "":
	case u.Scheme == "https":
		port = "443"
	default:
		port = "80"
	}
	addr := net.JoinHostPort(u.Hostname(), port)

	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	// From here on the connection obeys ctx: when it ends (deadline or
	// cancellation), a deadline in the past makes every blocked read and
	// write return at once.
	stop := context.AfterFunc(ctx, func() { raw.SetDeadline(time.Unix(1, 0)) })
	conn := raw
	fail := func(err error) (*Response, error) {
		stop()
		conn.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		return nil, err
	}
	if u.Scheme == "https" {
		cfg := &tls.Config{}
		if c.TLS != nil {
			cfg = c.TLS.Clone()
		}
		if cfg.ServerName == "" {
			cfg.ServerName = u.Hostname()
		}
		if len(cfg.NextProtos) == 0 {
			cfg.NextProtos = []string{"http/1.1"}
		}
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fail(err)
		}
		conn = tc
	}

	if _, err := conn.Write(encodeRequest(req, u)); err != nil {
		return fail(err)
	}
	br := bufio.NewReaderSize(conn, 4<<10)
	resp, body, err := readResponse(br, req.Method)
	if err != nil {
		return fail(err)
	}
	resp.Body = &connBody{r: body, close: func() error { stop(); return conn.Close() }}
	return resp, nil
}

// encodeRequest writes the request line, header and body in one buffer, so
// that a small request is one write.
func encodeRequest(req *Request, u *url.URL) []byte {
	var b bytes.Buffer
	method := req.Method
	if method == "" {
		method = "GET"
	}
	b.WriteString(method)
	b.WriteByte(' ')
	b.WriteString(u.RequestURI())
	b.WriteString(" HTTP/1.1\r\nHost: ")
	b.WriteString(u.Host)
	b.WriteString("\r\nUser-Agent: jobcheck\r\nConnection: close\r\n")
	if u.User != nil {
		pass, _ := u.User.Password()
		b.WriteString("Authorization: Basic ")
		b.WriteString(base64.StdEncoding.EncodeToString([]byte(u.User.Username() + ":" + pass)))
		b.WriteString("\r\n")
	}
	if req.Body != nil || method == "POST" || method == "PUT" {
		b.WriteString("Content-Length: ")
		b.WriteString(strconv.Itoa(len(req.Body)))
		b.WriteString("\r\n")
	}
	for _, h := range req.Header {
		b.WriteString(h[0])
		b.WriteString(": ")
		b.WriteString(h[1])
		b.WriteString("\r\n")
	}
	b.WriteString("\r\n")
	b.Write(req.Body)
	return b.Bytes()
}

// connBody is a response body that closes its connection.
type connBody struct {
	r     io.Reader
	close func() error
}

func (b *connBody) Read(p []byte) (int, error) { return b.r.Read(p) }
func (b *connBody) Close() error               { return b.close() }

// readResponse reads a status line and header, skipping informational (1xx)
// responses, and returns the response and its body, framed as the header
// says.
func readResponse(br *bufio.Reader, method string) (*Response, io.Reader, error) {
	for {
		line, err := readLine(br)
		if err != nil {
			return nil, nil, fmt.Errorf("read status line: %w", err)
		}
		resp, err := parseStatus(line)
		if err != nil {
			return nil, nil, err
		}
		http11 := strings.HasPrefix(line, "HTTP/1.1 ")
		chunked, length := false, int64(-1)
		for n := 0; ; n++ {
			line, err := readLine(br)
			if err != nil {
				return nil, nil, fmt.Errorf("read header: %w", err)
			}
			if line == "" {
				break
			}
			if n == maxHeaders {
				return nil, nil, fmt.Errorf("more than %d header fields", maxHeaders)
			}
			name, value, ok := strings.Cut(line, ":")
			if !ok || name == "" || strings.ContainsAny(name, " \t") {
				return nil, nil, fmt.Errorf("malformed header line %q", clip(line))
			}
			value = strings.TrimSpace(value)
			resp.Header = append(resp.Header, [2]string{name, value})
			switch {
			case strings.EqualFold(name, "Transfer-Encoding"):
				if !strings.EqualFold(value, "chunked") {
					return nil, nil, fmt.Errorf("unsupported transfer coding %q", clip(value))
				}
				chunked = true
			case strings.EqualFold(name, "Content-Length"):
				n, err := strconv.ParseInt(value, 10, 64)
				if err != nil || n < 0 || (length >= 0 && n != length) {
					return nil, nil, fmt.Errorf("bad Content-Length %q", clip(value))
				}
				length = n
			}
		}
		switch {
		case resp.StatusCode == 101:
			return nil, nil, errors.New("unexpected 101 Switching Protocols")
		case resp.StatusCode < 200:
			continue // 100 Continue, 103 Early Hints: the real response follows
		case method == "HEAD" || resp.StatusCode == 204 || resp.StatusCode == 304:
			return resp, eofReader{}, nil
		case chunked && http11: // wins over Content-Length (RFC 9112, 6.3); HTTP/1.0 has no chunks
			return resp, &chunkedReader{r: br}, nil
		case length >= 0:
			return resp, &lengthReader{r: br, left: length}, nil
		default:
			return resp, br, nil // delimited by the end of the connection
		}
	}
}

func parseStatus(line string) (*Response, error) {
	proto, rest, ok := strings.Cut(line, " ")
	if !ok || (proto != "HTTP/1.1" && proto != "HTTP/1.0") {
		return nil, fmt.Errorf("malformed status line %q", clip(line))
	}
	codeStr, reason, _ := strings.Cut(rest, " ")
	code, err := strconv.Atoi(codeStr)
	if err != nil || len(codeStr) != 3 || code < 100 {
		return nil, fmt.Errorf("malformed status code in %q", clip(line))
	}
	status := codeStr
	if reason != "" {
		status += " " + reason
	}
	return &Response{StatusCode: code, Status: status}, nil
}

// readLine reads one CRLF- (or LF-) terminated line of at most maxLine bytes.
func readLine(br *bufio.Reader) (string, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(line)+len(chunk) > maxLine {
			return "", fmt.Errorf("line longer than %d bytes", maxLine)
		}
		line = append(line, chunk...)
		if err == nil {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return "", err
	}
	line = bytes.TrimSuffix(line, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	return string(line), nil
}

// clip shortens what a server sent for an error message.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// lengthReader reads a body of a known length: a connection that ends
// before it is an error, not the end of the body.
type lengthReader struct {
	r    io.Reader
	left int64
}

func (l *lengthReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if err == io.EOF && l.left > 0 {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
