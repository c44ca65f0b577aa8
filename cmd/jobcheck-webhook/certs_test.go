package main

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jobcheck/jobcheck/certs"
)

func TestCertsWritesFilesAndPrintsCABundle(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	var out, errOut bytes.Buffer
	code := run([]string{"certs", "--out-dir", dir, "--dns", "jobcheck-webhook.jobcheck.svc, localhost", "--ip", "127.0.0.1"}, nil, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	ca, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := base64.StdEncoding.DecodeString(strings.TrimSpace(out.String()))
	if err != nil || !bytes.Equal(bundle, ca) {
		t.Fatalf("stdout is not ca.crt in base64 (err %v): %q", err, out.String())
	}
	if err := certs.Check(filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")); err != nil {
		t.Fatal(err)
	}
	b := certs.Bundle{Cert: readOrFail(t, filepath.Join(dir, "tls.crt"))}
	leaf, err := b.Leaf()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(leaf.DNSNames, ",") != "jobcheck-webhook.jobcheck.svc,localhost" || len(leaf.IPAddresses) != 1 || leaf.IPAddresses[0].String() != "127.0.0.1" {
		t.Errorf("certificate names %v %v", leaf.DNSNames, leaf.IPAddresses)
	}
}

func TestCertsBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no out dir", []string{"--dns", "a"}, 2, "--out-dir is required"},
		{"no names", []string{"--out-dir", t.TempDir()}, 2, "need at least one DNS name or IP address"},
		{"bad ip", []string{"--out-dir", t.TempDir(), "--ip", "localhost"}, 2, `"localhost" is not an IP address`},
		{"unknown flag", []string{"--bogus"}, 2, "flag provided but not defined: -bogus"},
		{"argument", []string{"--out-dir", t.TempDir(), "--dns", "a", "extra"}, 2, `unexpected argument "extra"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(append([]string{"certs"}, tc.args...), nil, &out, &errOut)
			if code != tc.code || !strings.Contains(errOut.String(), tc.want) || strings.Count(strings.TrimSpace(errOut.String()), "\n") != 0 {
				t.Errorf("exit %d stderr %q, want %d and one line containing %q", code, errOut.String(), tc.code, tc.want)
			}
		})
	}
}

func readOrFail(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
