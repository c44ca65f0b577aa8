package http1

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// testCtx bounds a test's requests; none of the tests measures time.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func readAll(t *testing.T, resp *Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return string(b)
}

// net/http's server is the oracle: what it receives is what was sent.
func TestRequestReachesNetHTTPServer(t *testing.T) {
	type seen struct {
		method, uri, host, length, ctype, auth, conn string
		body                                         string
	}
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.RequestURI, r.Host, r.Header.Get("Content-Length"), r.Header.Get("Content-Type"),
			r.Header.Get("Authorization"), r.Header.Get("Connection"), string(b)}
		w.Header().Set("X-Answer", "42")
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, "done")
	}))
	defer srv.Close()
	u := strings.Replace(srv.URL, "http://", "http://user:pa%20ss@", 1) + "/metrics/job@base64/YS9i/x?q=1"
	var c Client
	resp, err := c.Do(testCtx(t), &Request{Method: "POST", URL: u, Header: [][2]string{{"Content-Type", "text/plain"}}, Body: []byte("a 1\n")})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 202 || resp.Status != "202 Accepted" || resp.Get("x-answer") != "42" {
		t.Errorf("status %d %q, X-Answer %q", resp.StatusCode, resp.Status, resp.Get("x-answer"))
	}
	if b := readAll(t, resp); b != "done" {
		t.Errorf("body %q", b)
	}
	s := <-got
	want := seen{"POST", "/metrics/job@base64/YS9i/x?q=1", strings.TrimPrefix(srv.URL, "http://"), "4", "text/plain",
		"Basic dXNlcjpwYSBzcw==", "close", "a 1\n"} // user:pa ss
	if s != want {
		t.Errorf("server saw %+v\nwant         %+v", s, want)
	}
}

// A streamed (chunked) answer is decoded as it is read, whatever the chunk
// boundaries; a DELETE carries no body.
func TestChunkedResponseFromNetHTTP(t *testing.T) {
	var want strings.Builder
	for i := range 20000 {
		want.WriteString("line ")
		want.WriteString(strings.Repeat("x", i%97))
		want.WriteString("\n")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "GET" {
			if r.ContentLength != 0 {
				t.Errorf("%s with Content-Length %d", r.Method, r.ContentLength)
			}
			w.WriteHeader(http.StatusAccepted)
			return
		}
		s := want.String()
		for len(s) > 0 { // many flushes: many chunks of odd sizes
			n := min(len(s), 1+len(s)%4093)
			io.WriteString(w, s[:n])
			w.(http.Flusher).Flush()
			s = s[n:]
		}
	}))
	defer srv.Close()
	var c Client
	resp, err := c.Do(testCtx(t), &Request{URL: srv.URL + "/metrics"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Get("Transfer-Encoding") != "chunked" {
		t.Fatalf("the server did not chunk (header %v): the test proves nothing", resp.Header)
	}
	if b := readAll(t, resp); b != want.String() {
		t.Errorf("body differs: %d bytes, want %d", len(b), want.Len())
	}
	resp, err = c.Do(testCtx(t), &Request{Method: "DELETE", URL: srv.URL + "/metrics/job/x"})
	if err != nil || resp.StatusCode != 202 {
		t.Fatalf("DELETE: %v %v", resp, err)
	}
	resp.Body.Close()
}

// https against a server whose certificate a test CA signed: trusted with
// that CA, refused without it.
func TestHTTPSWithTestCA(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "secure "+r.Proto)
	}))
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	c := Client{TLS: &tls.Config{RootCAs: pool}}
	resp, err := c.Do(testCtx(t), &Request{URL: srv.URL + "/"})
	if err != nil {
		t.Fatal(err)
	}
	if b := readAll(t, resp); b != "secure HTTP/1.1" {
		t.Errorf("body %q", b)
	}
	var untrusting Client
	_, err = untrusting.Do(testCtx(t), &Request{URL: srv.URL + "/"})
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Errorf("unknown CA: err %v, want x509.UnknownAuthorityError", err)
	}
}

// A server that accepts and never answers: the request ends with ctx.
func TestContextBoundsASilentServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	var c Client
	for _, mk := range []func() (context.Context, context.CancelFunc){
		func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 100*time.Millisecond)
		},
		func() (context.Context, context.CancelFunc) { // cancelled, no deadline
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(100*time.Millisecond, cancel)
			return ctx, cancel
		},
	} {
		ctx, cancel := mk()
		_, err := c.Do(ctx, &Request{URL: "http://" + ln.Addr().String() + "/"})
		cancel()
		if err == nil || ctx.Err() == nil || !errors.Is(err, ctx.Err()) {
			t.Errorf("err %v, want the context's %v", err, ctx.Err())
		}
	}
}

// rawServer answers every connection with resp after reading the request
// header.
func rawServer(t *testing.T, resp string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					l, err := br.ReadString('\n')
					if err != nil || l == "\r\n" {
						break
					}
				}
				io.WriteString(c, resp)
			}()
		}
	}()
	return "http://" + ln.Addr().String() + "/"
}

// Responses net/http's own client would read, and the malformed ones it
// would refuse; net/http's ReadResponse is the oracle for the bodies.
func TestRawResponses(t *testing.T) {
	cases := []struct {
		name, resp string
		code       int
		body       string
		errWords   string // a read or Do error containing this, instead
	}{
		{"content length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA", 200, "hello", ""},
		{"HTTP/1.0, LF only, close-delimited", "HTTP/1.0 200 OK\nX: y\n\nuntil the end", 200, "until the end", ""},
		{"100 Continue first", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok", 201, "ok", ""},
		{"chunk extensions and trailer", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"3;name=value\r\nabc\r\nA\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\n", 200, "abc0123456789", ""},
		{"chunked wins over length", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", 200, "ok", ""},
		{"no reason phrase", "HTTP/1.1 500\r\nContent-Length: 0\r\n\r\n", 500, "", ""},
		{"204 has no body", "HTTP/1.1 204 No Content\r\n\r\n", 204, "", ""},
		{"garbage status", "SSH-2.0-OpenSSH\r\n\r\n", 0, "", "malformed status line"},
		{"HTTP/2 preface", "HTTP/2 200\r\n\r\n", 0, "", "malformed status line"},
		{"bad code", "HTTP/1.1 2x0 OK\r\n\r\n", 0, "", "malformed status code"},
		{"bad header", "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", 0, "", "malformed header"},
		{"gzip coding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 0, "", "unsupported transfer coding"},
		{"bad length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 0, "", "bad Content-Length"},
		{"conflicting lengths", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 0, "", "bad Content-Length"},
		{"short body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 200, "", "unexpected EOF"},
		{"bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 200, "", "bad chunk size"},
		{"chunk longer than said", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc\r\n0\r\n\r\n", 200, "", "longer than its chunk size"},
		{"truncated chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", 200, "", "unexpected EOF"},
		{"header line too long", "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", maxLine) + "\r\n\r\n", 0, "", "longer than"},
		{"no answer", "", 0, "", "EOF"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var c Client
			resp, err := c.Do(testCtx(t), &Request{URL: rawServer(t, tc.resp)})
			var body []byte
			if err == nil {
				if resp.StatusCode != tc.code {
					t.Errorf("status %d, want %d", resp.StatusCode, tc.code)
				}
				body, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			if tc.errWords != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errWords) {
					t.Fatalf("err %v, want one saying %q", err, tc.errWords)
				}
				return
			}
			if err != nil || string(body) != tc.body {
				t.Fatalf("body %q, err %v; want %q", body, err, tc.body)
			}
			if oracle := oracleBody(t, tc.resp); oracle != tc.body {
				t.Errorf("net/http reads body %q, we read %q", oracle, body)
			}
		})
	}
}

// oracleBody is net/http's reading of a raw response's body.
func oracleBody(t *testing.T, raw string) string {
	br := bufio.NewReader(strings.NewReader(raw))
	for {
		resp, err := http.ReadResponse(br, &http.Request{Method: "GET"})
		if err != nil {
			t.Fatalf("oracle: %v", err)
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("oracle body: %v", err)
		}
		if resp.StatusCode >= 200 {
			return string(b)
		}
	}
}

func TestBadRequests(t *testing.T) {
	var c Client
	for _, req := range []Request{
		{URL: "ftp://x/"},
		{URL: "http:///path"},
		{URL: "http://x/\x7f"},
		{URL: "http://127.0.0.1:1/", Header: [][2]string{{"kh-run-uuid", "a\r\nInjected: yes"}}},
		{URL: "http://127.0.0.1:1/", Header: [][2]string{{"Bad Name", "v"}}},
	} {
		if _, err := c.Do(testCtx(t), &req); err == nil {
			t.Errorf("%+v: no error", req)
		}
	}
}

// FuzzReadResponse checks the response reader against net/http's on any
// input: whenever both accept a response, status and body agree, and ours
// never panics.
func FuzzReadResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.0 200 OK\n\nbody",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		resp, body, err := readResponse(bufio.NewReader(bytes.NewReader(raw)), "GET")
		if err != nil {
			return
		}
		ours, err := io.ReadAll(io.LimitReader(body, 1<<20))
		if err != nil {
			return
		}
		br := bufio.NewReader(bytes.NewReader(raw))
		var oracle *http.Response
		for {
			oracle, err = http.ReadResponse(br, &http.Request{Method: "GET"})
			if err != nil || oracle.StatusCode >= 200 || oracle.StatusCode == 101 {
				break
			}
		}
		if err != nil {
			return // net/http is stricter in places; we only compare what both accept
		}
		theirs, err := io.ReadAll(io.LimitReader(oracle.Body, 1<<20))
		if err != nil {
			return
		}
		if oracle.StatusCode != resp.StatusCode || !bytes.Equal(ours, theirs) {
			t.Errorf("status %d body %q; net/http: %d %q", resp.StatusCode, ours, oracle.StatusCode, theirs)
		}
	})
}
