package certs

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/cert-manager/cert-manager/pkg/util/pki"
)

// File names written by Bundle.Write: the names of a kubernetes.io/tls Secret,
// so a directory written here looks like a mounted cert-manager Secret.
const (
	CAFile   = "ca.crt"
	CertFile = "tls.crt"
	KeyFile  = "tls.key"
)

// Bundle is a development CA and a serving certificate it signed, PEM-encoded.
type Bundle struct {
	CA   []byte // the CA certificate: the caBundle of a webhook configuration
	Cert []byte // the serving certificate
	Key  []byte // the serving certificate's private key (PKCS#8)
}

// Generate makes a self-signed CA and a serving certificate for the given DNS
// names and IP addresses, both valid for validity. It is meant for development
// and tests; in a cluster the webhook manages its own certificate (Manager) or
// cert-manager issues it.
func Generate(dnsNames, ips []string, validity time.Duration) (Bundle, error) {
	if len(dnsNames) == 0 && len(ips) == 0 {
		return Bundle{}, errors.New("generate certificate: need at least one DNS name or IP address")
	}
	for _, ip := range ips {
		if net.ParseIP(ip) == nil {
			return Bundle{}, fmt.Errorf("generate certificate: %q is not an IP address", ip)
		}
	}
	if validity <= 0 {
		return Bundle{}, fmt.Errorf("generate certificate: validity %v is not positive", validity)
	}
	now := time.Now()
	ca, err := newAuthority(now, validity)
	if err != nil {
		return Bundle{}, fmt.Errorf("generate certificate: %w", err)
	}
	certPEM, keyPEM, err := ca.issue(dnsNames, ips, now, validity)
	if err != nil {
		return Bundle{}, fmt.Errorf("generate certificate: %w", err)
	}
	return Bundle{CA: ca.certPEM, Cert: certPEM, Key: keyPEM}, nil
}

// Leaf parses the serving certificate.
func (b Bundle) Leaf() (*x509.Certificate, error) {
	c, err := pki.DecodeX509CertificateBytes(b.Cert)
	if err != nil {
		return nil, fmt.Errorf("parse serving certificate: %w", err)
	}
	return c, nil
}

// Write stores the bundle in dir as ca.crt, tls.crt and tls.key (the key
// readable by its owner only). Each file is replaced atomically (write to a
// temporary file, then rename), so a server reloading them never reads half a file.
func (b Bundle) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	for _, f := range []struct {
		name string
		data []byte
		mode os.FileMode
	}{{CAFile, b.CA, 0o644}, {KeyFile, b.Key, 0o600}, {CertFile, b.Cert, 0o644}} {
		if err := writeAtomic(filepath.Join(dir, f.name), f.data, f.mode); err != nil {
			return err
		}
	}
	return nil
}

func writeAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // no-op once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
