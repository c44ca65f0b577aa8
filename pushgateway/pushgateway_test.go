package pushgateway

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"math"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/jobcheck/jobcheck/pushgateway/pushgatewaytest"
)

var pg *pushgatewaytest.Server

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pushgateway-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pg, err = pushgatewaytest.Start(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	pg.Stop()
	os.RemoveAll(dir)
	os.Exit(code)
}

func help(name string) string { return "help of " + name + " with \\ and\nnewline" }

// The encoding is checked by client_golang's own parser (the oracle).
func TestEncodeParsesWithExpfmt(t *testing.T) {
	samples := []Sample{
		{Name: "a_seconds", Value: 1.7e9 + 0.123},
		{Name: "b_info", Labels: [][2]string{{"reason", `quote " back \ nl` + "\n"}}, Value: 1},
		{Name: "a_seconds", Labels: [][2]string{{"x", "y"}}, Value: math.Inf(1)},
		{Name: "c", Value: -0.5},
	}
	var buf bytes.Buffer
	Encode(&buf, samples, help)
	fams, err := parse(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("expfmt rejects the encoding: %v\n%s", err, buf.String())
	}
	if len(fams) != 3 {
		t.Fatalf("got %d families, want 3:\n%s", len(fams), buf.String())
	}
	a := fams["a_seconds"]
	if a.GetHelp() != help("a_seconds") || a.GetType().String() != "GAUGE" || len(a.Metric) != 2 {
		t.Errorf("family a_seconds: help %q type %s series %d", a.GetHelp(), a.GetType(), len(a.Metric))
	}
	if v := a.Metric[0].GetGauge().GetValue(); v != 1.7e9+0.123 {
		t.Errorf("a_seconds = %v, want %v", v, 1.7e9+0.123)
	}
	if v := a.Metric[1].GetGauge().GetValue(); !math.IsInf(v, 1) {
		t.Errorf("a_seconds{x} = %v, want +Inf", v)
	}
	if got := fams["b_info"].Metric[0].Label[0].GetValue(); got != `quote " back \ nl`+"\n" {
		t.Errorf("label value round trip: %q", got)
	}
}

func TestGroupPath(t *testing.T) {
	for _, c := range []struct {
		grouping [][2]string
		want     string
	}{
		{[][2]string{{"job", "nightly"}, {"namespace", "batch"}}, "/metrics/job/nightly/namespace/batch"},
		{[][2]string{{"job", "a/b"}}, "/metrics/job@base64/YS9i"},
		{[][2]string{{"job", "x"}, {"index", ""}}, "/metrics/job/x/index@base64/="},
		{[][2]string{{"job", "sp ace"}}, "/metrics/job/sp%20ace"},
	} {
		got, err := GroupPath(c.grouping)
		if err != nil || got != c.want {
			t.Errorf("GroupPath(%v) = %q, %v; want %q", c.grouping, got, err, c.want)
		}
	}
	for _, bad := range [][][2]string{nil, {{"namespace", "x"}}, {{"job", ""}}, {{"job", "x"}, {"bad-name", "y"}}} {
		if _, err := GroupPath(bad); err == nil {
			t.Errorf("GroupPath(%v): no error", bad)
		}
	}
}

// Pushes reach the real Pushgateway, which rejects malformed input; POST
// keeps the metrics a push does not name; Scan reads exactly what was pushed.
func TestAddScanDeleteOnRealPushgateway(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := New(pg.URL, nil, help)
	if err != nil {
		t.Fatal(err)
	}
	key := [][2]string{{"job", "round/trip"}, {"namespace", "ns"}, {"index", "3"}}
	if err := c.Add(ctx, key, []Sample{
		{Name: "jc_test_success", Value: 100},
		{Name: "jc_test_info", Labels: [][2]string{{"reason", `a"b`}}, Value: 1},
	}); err != nil {
		t.Fatalf("first push: %v", err)
	}
	if err := c.Add(ctx, key, []Sample{{Name: "jc_test_info", Labels: [][2]string{{"reason", "second"}}, Value: 1}}); err != nil {
		t.Fatalf("second push: %v", err)
	}
	g, err := pg.Group(ctx, map[string]string{"job": "round/trip", "namespace": "ns", "index": "3"})
	if err != nil || g == nil {
		t.Fatalf("group not in the Pushgateway: %v", err)
	}
	if v, ok := g.Value("jc_test_success", nil); !ok || v != 100 {
		t.Errorf("POST dropped a metric it did not name: jc_test_success = %v, %v", v, ok)
	}
	if n := len(g.Metrics["jc_test_info"]); n != 1 {
		t.Errorf("jc_test_info has %d series, want the second push's only", n)
	}

	var seen []string
	err = c.Scan(ctx, []string{"jc_test_info", "jc_test_success"}, func(name string, labels [][2]string, v float64) {
		if sameGroup(group(labels, "reason"), key) {
			seen = append(seen, fmt.Sprintf("%s %v %v", name, labels, v))
		}
	})
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	if len(seen) != 2 || !strings.Contains(strings.Join(seen, "\n"), "second") {
		t.Errorf("scan saw %q", seen)
	}

	// The same metric in another group.
	other := [][2]string{{"job", "other"}}
	if err := c.Add(ctx, other, []Sample{{Name: "jc_test_success", Value: 1}}); err != nil {
		t.Fatalf("push to another group: %v", err)
	}
	if err := c.Delete(ctx, key); err != nil {
		t.Fatalf("delete: %v", err)
	}
	// The Pushgateway answers a DELETE (202 Accepted) before it applies it.
	for {
		g, err := pg.Group(ctx, map[string]string{"job": "round/trip", "namespace": "ns", "index": "3"})
		if err == nil && g == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("group still there after Delete: %+v %v", g, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPushToDownPushgatewayFails(t *testing.T) {
	c, _ := New("127.0.0.1:1", nil, nil) // no scheme: http
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Add(ctx, [][2]string{{"job", "x"}}, []Sample{{Name: "m", Value: 1}}); err == nil {
		t.Fatal("push to a closed port succeeded")
	}
	for _, bad := range []string{"ftp://x", "http://", "://"} {
		if _, err := New(bad, nil, nil); err == nil {
			t.Errorf("New(%q): no error", bad)
		}
	}
}

// Scan holds one line at a time and skips lines too long to be a sample of
// ours; what it parses agrees with expfmt.
func TestScanParsesLikeExpfmt(t *testing.T) {
	long := strings.Repeat("x", maxLine*2)
	text := "# HELP m help\n# TYPE m gauge\n" +
		`m{instance="",job="j",l="a\\b\"c\nd"} 2.5` + "\n" +
		`m_other{job="j"} 9` + "\n" +
		`m{job="` + long + `"} 7` + "\n" +
		`m 1e+09 1700000000000` + "\n" +
		`m{job="last"} 4`
	var got []string
	if err := scan(strings.NewReader(text), []string{"m"}, func(n string, l [][2]string, v float64) {
		got = append(got, fmt.Sprint(l, v))
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{`[[instance ] [job j] [l a\b"c` + "\n" + `d]] 2.5`, "[] 1e+09", "[[job last]] 4"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("scan = %q\nwant %q", got, want)
	}
	fams, err := parse(strings.NewReader(strings.Replace(text, `m{job="`+long+`"} 7`+"\n", "", 1) + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if v := fams["m"].Metric[0].Label[2].GetValue(); v != "a\\b\"c\nd" {
		t.Errorf("oracle disagrees: %q", v)
	}
}

// InGroup is sameGroup(group(...)), without allocating.
func TestInGroup(t *testing.T) {
	key := [][2]string{{"job", "j"}, {"namespace", "n"}}
	for _, tc := range []struct {
		labels [][2]string
		own    []string
		want   bool
	}{
		{[][2]string{{"instance", ""}, {"job", "j"}, {"namespace", "n"}}, nil, true},
		{[][2]string{{"job", "j"}, {"namespace", "n"}, {"reason", "x"}}, []string{"reason"}, true},
		{[][2]string{{"job", "j"}, {"namespace", "n"}, {"reason", "x"}}, nil, false},
		{[][2]string{{"instance", "i"}, {"job", "j"}, {"namespace", "n"}}, nil, false},
		{[][2]string{{"job", "j"}}, nil, false},
		{[][2]string{{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4"}, {"e", "5"}, {"f", "6"}, {"g", "7"}, {"h", "8"}, {"job", "j"}, {"namespace", "n"}},
			[]string{"a", "b", "c", "d", "e", "f", "g", "h"}, true},
	} {
		if got, want := InGroup(tc.labels, key, tc.own...), sameGroup(group(tc.labels, tc.own...), key); got != tc.want || got != want {
			t.Errorf("InGroup(%v, own %v) = %v, want %v (group and sameGroup: %v)", tc.labels, tc.own, got, tc.want, want)
		}
	}
	labels := [][2]string{{"instance", ""}, {"job", "j"}, {"namespace", "n"}, {"reason", "x"}}
	if n := testing.AllocsPerRun(100, func() { InGroup(labels, key, "reason") }); n != 0 {
		t.Errorf("InGroup allocates %v times", n)
	}
}

func TestSameGroup(t *testing.T) {
	a := [][2]string{{"job", "j"}, {"namespace", "n"}}
	if !sameGroup(a, [][2]string{{"namespace", "n"}, {"job", "j"}, {"index", ""}}) {
		t.Error("order or an empty label made groups differ")
	}
	if sameGroup(a, [][2]string{{"job", "j"}}) || sameGroup(a, [][2]string{{"job", "j"}, {"namespace", "m"}}) {
		t.Error("different groups compared equal")
	}
}

// parse is the oracle: client_golang's (prometheus/common) text parser.
func parse(r io.Reader) (map[string]*dto.MetricFamily, error) {
	p := expfmt.NewTextParser(model.LegacyValidation)
	return p.TextToMetricFamilies(r)
}

// Reading back a Pushgateway of many groups makes garbage only for the label
// values of the samples asked for: one allocation per value, none per line.
func TestScanAllocations(t *testing.T) {
	var text strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&text, "# HELP other x\nother{job=\"j%d\"} 1\n", i)
		fmt.Fprintf(&text, "m{instance=\"\",job=\"j%d\",namespace=\"ns\"} %d\n", i, i)
	}
	r := strings.NewReader(text.String())
	n := 0
	allocs := testing.AllocsPerRun(5, func() {
		r.Seek(0, io.SeekStart)
		n = 0
		scan(r, []string{"m"}, func(string, [][2]string, float64) { n++ })
	})
	if n != 1000 {
		t.Fatalf("scanned %d samples, want 1000", n)
	}
	// job and namespace values: 2 per sample; the rest is the reader's buffer.
	if allocs > 2*1000+20 {
		t.Errorf("%v allocations for 1000 samples, want at most 2 per sample", allocs)
	}
}

// An https Pushgateway (a TLS proxy in front of the real one, its
// certificate signed by a test CA): pushes and the streamed read-back work
// with that CA, basic authentication comes from the URL, and no message
// shows the password.
func TestHTTPSWithTestCA(t *testing.T) {
	target, _ := url.Parse(pg.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var mu sync.Mutex
	var auth []string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auth = append(auth, r.Header.Get("Authorization"))
		mu.Unlock()
		if r.Method == http.MethodGet {
			w.Header().Set("Content-Type", "text/plain") // streamed: chunked
		}
		proxy.ServeHTTP(w, r)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	secret := strings.Replace(srv.URL, "https://", "https://user:s3cret@", 1)
	c, err := New(secret, &tls.Config{RootCAs: pool}, help)
	if err != nil {
		t.Fatal(err)
	}
	key := [][2]string{{"job", "over-tls"}}
	if err := c.Add(ctx, key, []Sample{{Name: "jc_tls_test", Value: 7}}); err != nil {
		t.Fatalf("push over https: %v", err)
	}
	var got []float64
	if err := c.Scan(ctx, []string{"jc_tls_test"}, func(_ string, labels [][2]string, v float64) {
		if sameGroup(group(labels), key) {
			got = append(got, v)
		}
	}); err != nil {
		t.Fatalf("read back over https: %v", err)
	}
	if len(got) != 1 || got[0] != 7 {
		t.Errorf("read back %v, want [7]", got)
	}
	if err := c.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(auth) != 3 || auth[0] != "Basic dXNlcjpzM2NyZXQ=" {
		t.Errorf("authorization %q, want basic auth on each of the 3 requests", auth)
	}
	mu.Unlock()

	untrusting, _ := New(secret, nil, help)
	err = untrusting.Add(ctx, key, []Sample{{Name: "jc_tls_test", Value: 1}})
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("unknown CA: err %v, want a certificate error", err)
	}
	if strings.Contains(err.Error(), "s3cret") || strings.Contains(untrusting.URL(), "s3cret") {
		t.Errorf("the password shows: %v, %s", err, untrusting.URL())
	}
}
