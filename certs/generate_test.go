package certs

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestGenerateVerifiesForNamesAndIPs(t *testing.T) {
	b, err := Generate([]string{"jobcheck-webhook.jobcheck.svc", "localhost"}, []string{"127.0.0.1", "::1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.X509KeyPair(b.Cert, b.Key); err != nil {
		t.Fatalf("certificate and key do not pair: %v", err)
	}
	leaf, err := b.Leaf()
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(b.CA) {
		t.Fatal("ca.crt holds no certificate")
	}
	for _, name := range []string{"jobcheck-webhook.jobcheck.svc", "localhost", "127.0.0.1", "::1"} {
		opts := x509.VerifyOptions{Roots: roots, DNSName: name, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
		if _, err := leaf.Verify(opts); err != nil {
			t.Errorf("serving certificate does not verify for %s: %v", name, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: "other.example"}); err == nil {
		t.Error("serving certificate verifies for a name it was not issued for")
	}
	// Valid for an hour from now, and from a little before now (an API
	// server whose clock is behind must not refuse it): 5 minutes, at most a
	// tenth of the validity.
	if d := time.Until(leaf.NotAfter); d < 59*time.Minute || d > 61*time.Minute {
		t.Errorf("valid for %v more, want 1h", d)
	}
	if ago := time.Since(leaf.NotBefore); ago < 5*time.Minute || ago > 6*time.Minute {
		t.Errorf("valid since %v ago, want 5m", ago)
	}
	if leaf.IsCA {
		t.Error("serving certificate is a CA")
	}
}

func TestGenerateRejectsBadInput(t *testing.T) {
	for _, tc := range []struct {
		name     string
		dns, ips []string
		validity time.Duration
		want     string
	}{
		{"no names", nil, nil, time.Hour, "at least one DNS name or IP"},
		{"bad ip", nil, []string{"300.1.1.1"}, time.Hour, `"300.1.1.1" is not an IP address`},
		{"zero validity", []string{"a"}, nil, 0, "validity 0s is not positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Generate(tc.dns, tc.ips, tc.validity)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestWriteFilesAndCheck(t *testing.T) {
	b, err := Generate([]string{"localhost"}, nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "new")
	if err := b.Write(dir); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("tls.key mode = %v, want 0600", st.Mode().Perm())
	}
	if err := Check(filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)); err != nil {
		t.Fatalf("written pair does not load: %v", err)
	}
	err = Check(filepath.Join(dir, CertFile), filepath.Join(dir, "missing.key"))
	if err == nil || !strings.Contains(err.Error(), "missing.key") {
		t.Fatalf("Check of a missing key = %v, want an error naming the file", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Errorf("dir holds %d entries, want 3 (no temporary files left)", len(entries))
	}
}
