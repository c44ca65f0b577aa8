package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"
)

// servedSerial opens a new TLS connection and returns the serial number of
// the certificate the server presents.
func servedSerial(t *testing.T, addr string, roots *x509.CertPool) (string, error) {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, ServerName: "localhost"})
	if err != nil {
		return "", err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.String(), nil
}

func TestReplacedCertificateIsServedOnNextConnection(t *testing.T) {
	dir := t.TempDir()
	a, err := Generate([]string{"localhost"}, nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate([]string{"localhost"}, nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Write(dir); err != nil {
		t.Fatal(err)
	}
	src := NewSource(filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile), 20*time.Millisecond)
	addr := serve(t, src)

	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(a.CA)
	roots.AppendCertsFromPEM(b.CA)
	leafA, _ := a.Leaf()
	leafB, _ := b.Leaf()

	// Wait (bounded) for the first read, then check that A is served.
	got := waitServed(t, addr, roots, leafA.SerialNumber.String())
	if got != leafA.SerialNumber.String() {
		t.Fatalf("served serial %s, want certificate A %s", got, leafA.SerialNumber)
	}
	if !src.Loaded() || !src.NotAfter().Equal(leafA.NotAfter) {
		t.Fatalf("Loaded=%v NotAfter=%v, want true and %v", src.Loaded(), src.NotAfter(), leafA.NotAfter)
	}

	if err := b.Write(dir); err != nil {
		t.Fatal(err)
	}
	got = waitServed(t, addr, roots, leafB.SerialNumber.String())
	if got != leafB.SerialNumber.String() {
		t.Fatalf("after replacing the files a new connection got serial %s, want certificate B %s", got, leafB.SerialNumber)
	}
	if !src.NotAfter().Equal(leafB.NotAfter) {
		t.Errorf("NotAfter = %v, want B's %v", src.NotAfter(), leafB.NotAfter)
	}
}

// waitServed opens new connections until one is served the certificate with
// serial want, or 10s pass (a bound on waiting for the reload, not a timing
// assertion), and returns the last serial seen.
func waitServed(t *testing.T, addr string, roots *x509.CertPool, want string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	last := ""
	for time.Now().Before(deadline) {
		s, err := servedSerial(t, addr, roots)
		if err == nil {
			last = s
			if s == want {
				return s
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return last
}

func TestTLSConfigRefusesOldTLS(t *testing.T) {
	dir := t.TempDir()
	a, err := Generate([]string{"localhost"}, nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Write(dir); err != nil {
		t.Fatal(err)
	}
	src := NewSource(filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile), time.Hour)
	addr := serve(t, src)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(a.CA)
	leaf, _ := a.Leaf()
	if got := waitServed(t, addr, roots, leaf.SerialNumber.String()); got != leaf.SerialNumber.String() {
		t.Fatalf("certificate never served (last %q)", got)
	}
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, ServerName: "localhost", MaxVersion: tls.VersionTLS11})
	if err == nil {
		conn.Close()
		t.Fatal("a TLS 1.1 client was accepted")
	}
}

// serve runs src and a TLS listener that completes handshakes with it, both
// stopped at the end of the test; it returns the listener's address.
func serve(t *testing.T, src *Source) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); src.Run(ctx, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
	t.Cleanup(func() { cancel(); <-done })
	ln, err := tls.Listen("tcp", "127.0.0.1:0", src.TLSConfig())
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
			go func() { c.(*tls.Conn).Handshake(); c.Close() }()
		}
	}()
	return ln.Addr().String()
}
