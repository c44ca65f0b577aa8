package certs

import (
	"crypto"
	"crypto/x509"
	"fmt"
	"net"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"github.com/cert-manager/cert-manager/pkg/util/pki"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ecdsaP256 is the key of every certificate made here: small and fast to
// verify, and accepted by every API server.
var ecdsaP256 = &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm, Size: pki.ECCurve256}

// authority is a CA whose private key jobcheck holds: it signs serving
// certificates.
type authority struct {
	cert    *x509.Certificate
	certPEM []byte
	key     crypto.Signer
	keyPEM  []byte // PKCS#8
}

// newAuthority makes a self-signed CA valid from now for validity. Its common
// name carries its creation time, so that two CAs of one webhook (the old and
// the new during a rotation) are told apart in logs and in the caBundle.
func newAuthority(now time.Time, validity time.Duration) (*authority, error) {
	spec := &cmapi.Certificate{Spec: cmapi.CertificateSpec{
		CommonName: fmt.Sprintf("jobcheck-webhook-ca@%d", now.Unix()),
		IsCA:       true,
		Duration:   &metav1.Duration{Duration: validity},
		PrivateKey: ecdsaP256,
	}}
	key, err := pki.GeneratePrivateKeyForCertificate(spec)
	if err != nil {
		return nil, fmt.Errorf("generate CA key: %w", err)
	}
	template, err := pki.CertificateTemplateFromCertificate(spec)
	if err != nil {
		return nil, fmt.Errorf("build CA template: %w", err)
	}
	template.NotBefore, template.NotAfter = now.Add(-backdate(validity)), now.Add(validity)
	certPEM, cert, err := pki.SignCertificate(template, template, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("self-sign CA: %w", err)
	}
	keyPEM, err := pki.EncodePKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode CA key: %w", err)
	}
	return &authority{cert: cert, certPEM: certPEM, key: key, keyPEM: keyPEM}, nil
}

// parseAuthority reads a CA certificate and its private key, checking that
// they belong together and that the certificate is a CA.
func parseAuthority(certPEM, keyPEM []byte) (*authority, error) {
	cert, err := pki.DecodeX509CertificateBytes(certPEM)
	if err != nil {
		return nil, fmt.Errorf("parse CA certificate: %w", err)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("certificate %s is not a CA", cert.Subject.CommonName)
	}
	key, err := pki.DecodePrivateKeyBytes(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("parse CA key: %w", err)
	}
	if ok, err := pki.PublicKeyMatchesCertificate(key.Public(), cert); err != nil || !ok {
		return nil, fmt.Errorf("CA key does not belong to CA certificate %s", cert.Subject.CommonName)
	}
	return &authority{cert: cert, certPEM: certPEM, key: key, keyPEM: keyPEM}, nil
}

// issue signs a new serving certificate and key for dnsNames and ips, valid
// from now for validity but never past the CA's own expiry (a certificate
// cannot outlive the CA that vouches for it).
func (a *authority) issue(dnsNames, ips []string, now time.Time, validity time.Duration) (certPEM, keyPEM []byte, err error) {
	if len(dnsNames) == 0 && len(ips) == 0 {
		return nil, nil, fmt.Errorf("issue serving certificate: need at least one DNS name or IP address")
	}
	for _, ip := range ips {
		if net.ParseIP(ip) == nil {
			return nil, nil, fmt.Errorf("issue serving certificate: %q is not an IP address", ip)
		}
	}
	commonName := "jobcheck-webhook"
	if len(dnsNames) > 0 {
		commonName = dnsNames[0]
	}
	spec := &cmapi.Certificate{Spec: cmapi.CertificateSpec{
		CommonName:  commonName,
		DNSNames:    dnsNames,
		IPAddresses: ips,
		Duration:    &metav1.Duration{Duration: validity},
		PrivateKey:  ecdsaP256,
		Usages:      []cmapi.KeyUsage{cmapi.UsageDigitalSignature, cmapi.UsageServerAuth},
	}}
	key, err := pki.GeneratePrivateKeyForCertificate(spec)
	if err != nil {
		return nil, nil, fmt.Errorf("generate serving key: %w", err)
	}
	template, err := pki.CertificateTemplateFromCertificate(spec)
	if err != nil {
		return nil, nil, fmt.Errorf("build serving certificate template: %w", err)
	}
	template.NotBefore, template.NotAfter = now.Add(-backdate(validity)), now.Add(validity)
	if template.NotAfter.After(a.cert.NotAfter) {
		template.NotAfter = a.cert.NotAfter
	}
	certPEM, _, err = pki.SignCertificate(template, a.cert, key.Public(), a.key)
	if err != nil {
		return nil, nil, fmt.Errorf("sign serving certificate: %w", err)
	}
	keyPEM, err = pki.EncodePKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("encode serving key: %w", err)
	}
	return certPEM, keyPEM, nil
}

// backdate is how far before now a new certificate is valid from: an API
// server whose clock is a little behind this replica's must not refuse a
// certificate just issued (pods would be admitted unmonitored meanwhile).
// Five minutes, or a tenth of a short validity.
func backdate(validity time.Duration) time.Duration {
	return min(5*time.Minute, validity/10)
}

// renewalTime is when a certificate is due for renewal: two thirds through
// its lifetime, cert-manager's default.
func renewalTime(c *x509.Certificate) time.Time {
	t, err := pki.RenewalTime(c.NotBefore, c.NotAfter, nil, nil, nil)
	if err != nil || t == nil { // only with renewal windows, which are not used here
		return c.NotBefore.Add(c.NotAfter.Sub(c.NotBefore) * 2 / 3)
	}
	return t.Time
}
