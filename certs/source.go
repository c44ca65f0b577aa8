package certs

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"time"

	cmtls "github.com/cert-manager/cert-manager/pkg/server/tls"
	"github.com/go-logr/logr"
)

// Source serves the certificate and key found in two files and re-reads them
// every interval; a new TLS connection gets the newest pair that parsed.
type Source struct {
	file *cmtls.FileCertificateSource
}

// NewSource watches certFile and keyFile, re-reading them every interval
// (10s when zero). Nothing is read until Run.
func NewSource(certFile, keyFile string, interval time.Duration) *Source {
	return &Source{file: &cmtls.FileCertificateSource{
		CertPath:       certFile,
		KeyPath:        keyFile,
		UpdateInterval: interval,
	}}
}

// Run reads the files now and then every interval until ctx ends. A file
// that cannot be read or parsed is logged and the last good certificate stays
// in use. (cert-manager's source gives up after 12 failed reads; Run starts it
// again, so a long outage of the files never stops the reloads.)
func (s *Source) Run(ctx context.Context, log *slog.Logger) {
	go s.report(ctx, log)
	ctx = logr.NewContext(ctx, logr.FromSlogHandler(log.Handler()))
	for {
		err := s.file.Start(ctx)
		if ctx.Err() != nil {
			return
		}
		log.Error("certificate reload gave up, restarting it", "cert", s.file.CertPath, "key", s.file.KeyPath, "err", err)
	}
}

// report logs each certificate that starts being served (cert-manager's
// source says so only at debug level).
func (s *Source) report(ctx context.Context, log *slog.Logger) {
	interval := s.file.UpdateInterval
	if interval <= 0 {
		interval = 10 * time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	var last *tls.Certificate
	for {
		if c, err := s.file.GetCertificate(nil); err == nil && c != last && c.Leaf != nil {
			last = c
			log.Info("serving certificate", "serial", c.Leaf.SerialNumber.String(), "dnsNames", c.Leaf.DNSNames, "notAfter", c.Leaf.NotAfter)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Loaded reports whether a certificate has been read. (It asks GetCertificate,
// which takes the source's lock, rather than Healthy, which does not.)
func (s *Source) Loaded() bool {
	_, err := s.file.GetCertificate(nil)
	return err == nil
}

// Ready reports whether a certificate is loaded: with cert-manager, the
// caBundle is cert-manager's to keep (its CA injector).
func (s *Source) Ready() bool { return s.Loaded() }

// NotAfter is the expiry of the certificate being served (zero when none is loaded).
func (s *Source) NotAfter() time.Time {
	c, err := s.file.GetCertificate(nil)
	if err != nil || c.Leaf == nil {
		return time.Time{}
	}
	return c.Leaf.NotAfter
}

// TLSConfig is a server configuration (TLS 1.2 or newer) that presents the
// current certificate on every new connection.
func (s *Source) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: s.file.GetCertificate,
	}
}

// Check reads and parses a certificate and key pair once, so that a wrong path
// or a broken file is reported at start-up with the file named.
func Check(certFile, keyFile string) error {
	if _, err := tls.LoadX509KeyPair(certFile, keyFile); err != nil {
		return fmt.Errorf("load serving certificate %s and key %s: %w", certFile, keyFile, err)
	}
	return nil
}
