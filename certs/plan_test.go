package certs

import (
	"crypto/tls"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
)

var (
	t0        = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	testNames = []string{"jobcheck-webhook.jobcheck-system.svc"}
	testPlan  = policy{dnsNames: testNames, validity: time.Hour, caValidity: 6 * time.Hour, settle: 6 * time.Minute}
)

// issued is a state with a CA made at caAt and a serving certificate it
// signed at certAt.
func issued(t *testing.T, caAt, certAt time.Time) state {
	t.Helper()
	ca, err := newAuthority(caAt, testPlan.caValidity)
	if err != nil {
		t.Fatal(err)
	}
	return withCert(t, state{cas: []*x509.Certificate{ca.cert}, signer: ca, generation: 3}, ca, certAt, testNames)
}

// withCert replaces st's serving certificate by one ca signs at at for names.
func withCert(t *testing.T, st state, ca *authority, at time.Time, names []string) state {
	t.Helper()
	certPEM, keyPEM, err := ca.issue(names, nil, at, testPlan.validity)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	st.cert = &pair
	return st
}

// rotatedCA is issued's state just after a CA rotation at at: a new CA
// signs, both are trusted, the certificate is still the old CA's.
func rotatedCA(t *testing.T, caAt, certAt, at time.Time) (state, *authority) {
	t.Helper()
	st := issued(t, caAt, certAt)
	ca, err := newAuthority(at, testPlan.caValidity)
	if err != nil {
		t.Fatal(err)
	}
	st.cas = append(st.cas, ca.cert)
	st.signer = ca
	return st, ca
}

func trustedAll(since time.Time) func(*x509.Certificate) (time.Time, bool) {
	return func(*x509.Certificate) (time.Time, bool) { return since, true }
}

// trustedOnly trusts only cas, since since.
func trustedOnly(since time.Time, cas ...*x509.Certificate) func(*x509.Certificate) (time.Time, bool) {
	return func(c *x509.Certificate) (time.Time, bool) { return since, containsCert(cas, c) }
}

func trustedNone(*x509.Certificate) (time.Time, bool) { return time.Time{}, false }

func TestPlan(t *testing.T) {
	fresh := issued(t, t0, t0)
	old, newCA := rotatedCA(t, t0, t0.Add(3*time.Hour+50*time.Minute), t0.Add(4*time.Hour))
	otherNames := withCert(t, fresh, fresh.signer, t0, []string{"other.svc"})
	due := issued(t, t0, t0.Add(3*time.Hour+50*time.Minute))

	for _, tc := range []struct {
		name    string
		st      state
		now     time.Time
		trusted func(*x509.Certificate) (time.Time, bool)
		want    []string // what+reason of each change, in order; none: unchanged
		signer  string   // "same", "new" or "" (do not check)
	}{
		{name: "nothing yet: a CA and a certificate at once", st: state{}, now: t0, trusted: trustedNone,
			want: []string{"ca no usable CA", "serving no serving certificate"}},
		{name: "fresh: nothing to do", st: fresh, now: t0.Add(10 * time.Minute), trusted: trustedAll(t0)},
		{name: "certificate due, CA trusted long enough: renewed", st: fresh, now: t0.Add(40 * time.Minute), trusted: trustedAll(t0),
			want: []string{"serving two thirds through its validity"}, signer: "same"},
		{name: "certificate due, CA not yet in the caBundle: wait", st: fresh, now: t0.Add(40 * time.Minute), trusted: trustedNone},
		{name: "certificate due, CA in the caBundle for less than settle: wait", st: fresh, now: t0.Add(40 * time.Minute),
			trusted: trustedAll(t0.Add(38 * time.Minute))},
		{name: "certificate expired: replaced even with the CA untrusted", st: fresh, now: t0.Add(61 * time.Minute), trusted: trustedNone,
			want: []string{"serving x509: certificate has expired"}},
		{name: "certificate for other names: replaced at once", st: otherNames, now: t0.Add(time.Minute), trusted: trustedNone,
			want: []string{"serving issued for [other.svc]"}},
		{name: "CA due: a new CA next to the old, certificate kept", st: due, now: t0.Add(4 * time.Hour), trusted: trustedOnly(t0, due.signer.cert),
			want: []string{"ca CA two thirds through its validity"}, signer: "new"},
		{name: "new CA trusted long enough: certificate moves to it", st: old, now: t0.Add(4*time.Hour + 6*time.Minute), trusted: trustedAll(t0.Add(4 * time.Hour)),
			want: []string{"serving signed by the previous CA"}, signer: "same"},
		{name: "new CA trusted too briefly: old certificate kept", st: old, now: t0.Add(4*time.Hour + 6*time.Minute), trusted: trustedAll(t0.Add(4*time.Hour + time.Minute))},
		{name: "old CA expired: dropped from the caBundle", st: withCert(t, old, newCA, t0.Add(5*time.Hour+40*time.Minute), testNames), now: t0.Add(6 * time.Hour), trusted: trustedAll(t0),
			want: []string{"ca dropped 1 expired CA(s) from the caBundle"}, signer: "same"},
		{name: "CA expired: a new CA and certificate", st: fresh, now: t0.Add(7 * time.Hour), trusted: trustedAll(t0),
			want: []string{"ca dropped 1 expired CA(s) from the caBundle", "ca CA expired", "serving x509: certificate has expired"}, signer: "new"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next, changes, err := plan(tc.st, testPlan, tc.now, tc.trusted)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range changes {
				got = append(got, c.what+" "+c.reason)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("changes = %q, want %q", got, tc.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tc.want[i]) {
					t.Errorf("change %d = %q, want %q", i, got[i], tc.want[i])
				}
			}
			if len(changes) == 0 {
				if next.cert != tc.st.cert || len(next.cas) != len(tc.st.cas) {
					t.Error("state changed without a change reported")
				}
				return
			}
			// Whatever changed, the result serves a certificate for the
			// names, valid now, signed by the signing CA, which it trusts.
			if reason := unusable(next.cert, next.cas, testNames, tc.now); reason != "" {
				t.Errorf("next certificate unusable: %s", reason)
			}
			if next.signer == nil || !containsCert(next.cas, next.signer.cert) {
				t.Error("the signing CA is not trusted")
			}
			for _, c := range next.cas {
				if !tc.now.Before(c.NotAfter) {
					t.Errorf("expired CA %s still trusted", c.Subject.CommonName)
				}
			}
			switch tc.signer {
			case "same":
				if !next.signer.cert.Equal(tc.st.signer.cert) {
					t.Error("signing CA replaced")
				}
			case "new":
				if tc.st.signer != nil && next.signer.cert.Equal(tc.st.signer.cert) {
					t.Error("signing CA not replaced")
				}
				if tc.st.signer != nil && tc.now.Before(tc.st.signer.cert.NotAfter) && !containsCert(next.cas, tc.st.signer.cert) {
					t.Error("the previous CA, not yet expired, is no longer trusted")
				}
			}
			if next.cert != tc.st.cert && next.cert.Leaf.CheckSignatureFrom(next.signer.cert) != nil {
				t.Error("a new certificate not signed by the signing CA")
			}
			if next.cert.Leaf.NotAfter.After(next.signer.cert.NotAfter) && next.cert != tc.st.cert {
				t.Error("a certificate outlives its CA")
			}
		})
	}
}

func containsCert(cs []*x509.Certificate, c *x509.Certificate) bool {
	for _, x := range cs {
		if x.Equal(c) {
			return true
		}
	}
	return false
}

// TestIssueNeverOutlivesTheCA: a certificate signed near the CA's end is cut
// to the CA's expiry.
func TestIssueNeverOutlivesTheCA(t *testing.T) {
	ca, err := newAuthority(t0, 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.issue(testNames, nil, t0.Add(90*time.Minute), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !pair.Leaf.NotAfter.Equal(ca.cert.NotAfter) {
		t.Errorf("certificate notAfter %v, want the CA's %v", pair.Leaf.NotAfter, ca.cert.NotAfter)
	}
}

// TestStateRoundTrip: what a Manager writes, it reads back whole.
func TestStateRoundTrip(t *testing.T) {
	st, _ := rotatedCA(t, t0, t0, t0.Add(4*time.Hour))
	st.generation = 7
	data, err := st.data()
	if err != nil {
		t.Fatal(err)
	}
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{GenerationAnnotation: "7"}}, Data: data}
	got, problems := readState(s)
	if len(problems) > 0 {
		t.Fatalf("problems reading back: %v", problems)
	}
	if !sameCerts(got.cas, st.cas) || !got.signer.cert.Equal(st.signer.cert) || !got.cert.Leaf.Equal(st.cert.Leaf) || got.generation != 7 {
		t.Errorf("read back %d CAs, signer %s, generation %d; want %d CAs, signer %s, generation 7",
			len(got.cas), got.signer.cert.Subject.CommonName, got.generation, len(st.cas), st.signer.cert.Subject.CommonName)
	}
}

// TestReadStateNamesWhatIsWrong: each broken part of a Secret is named.
func TestReadStateNamesWhatIsWrong(t *testing.T) {
	st := issued(t, t0, t0)
	good, err := st.data()
	if err != nil {
		t.Fatal(err)
	}
	with := func(k, v string) map[string][]byte {
		d := map[string][]byte{}
		for key, val := range good {
			d[key] = val
		}
		d[k] = []byte(v)
		return d
	}
	for _, tc := range []struct {
		name        string
		annotations map[string]string
		data        map[string][]byte
		want        string
	}{
		{"bad generation", map[string]string{GenerationAnnotation: "seven"}, good, `annotation jobcheck.io/certificate-generation="seven" is not a generation`},
		{"bad CA file", nil, with(CAFile, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), "ca.crt:"},
		{"no CA key", nil, with(CAKeyFile, ""), "no CA key"},
		{"CA key of no CA", nil, with(CAKeyFile, string(good[KeyFile])), "ca.key belongs to no CA of ca.crt"},
		{"bad pair", nil, with(KeyFile, "junk"), "serving certificate:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, problems := readState(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Annotations: tc.annotations}, Data: tc.data})
			if !strings.Contains(strings.Join(problems, "; "), tc.want) {
				t.Errorf("problems = %q, want one saying %q", problems, tc.want)
			}
		})
	}
}

// TestNewManagerRejectsBadOptions: each bad option is named.
func TestNewManagerRejectsBadOptions(t *testing.T) {
	good := Options{Client: fakeClient(), Namespace: "ns", Secret: "s", WebhookConfiguration: "w",
		DNSNames: testNames, Validity: time.Hour, CAValidity: 10 * time.Hour, Interval: time.Minute}
	if _, err := NewManager(good); err != nil {
		t.Fatalf("good options: %v", err)
	}
	for _, tc := range []struct {
		name   string
		change func(*Options)
		want   string
	}{
		{"no client", func(o *Options) { o.Client = nil }, "no Kubernetes client"},
		{"no secret", func(o *Options) { o.Secret = "" }, "Secret's namespace and name"},
		{"no configuration", func(o *Options) { o.WebhookConfiguration = "" }, "MutatingWebhookConfiguration's name"},
		{"no names", func(o *Options) { o.DNSNames = nil }, "at least one DNS name"},
		{"a comma in a name", func(o *Options) { o.DNSNames = []string{"a,b"} }, `DNS name "a,b"`},
		{"CA shorter than certificates", func(o *Options) { o.CAValidity = time.Hour }, "CA validity 1h0m0s must be longer"},
		{"interval too long", func(o *Options) { o.Interval = 10 * time.Minute }, "interval 10m0s must be positive and at most a tenth"},
		{"zero validity", func(o *Options) { o.Validity = 0 }, "validity 0s is not positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := good
			tc.change(&o)
			_, err := NewManager(o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// fakeClient is a client that is never called: NewManager only checks one is given.
func fakeClient() kubernetes.Interface { return fake.NewClientset() }
