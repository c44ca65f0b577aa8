package certs

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"slices"
	"time"
)

// policy is what a Manager keeps: the names its serving certificate is for,
// how long its certificates and CAs live, and how often it looks.
type policy struct {
	dnsNames   []string
	validity   time.Duration // serving certificates
	caValidity time.Duration
	// settle is how long a CA must have been seen in the caBundle before a
	// serving certificate it signs may replace one that is still good: the
	// API server reads webhook configurations through an informer, so a
	// caBundle it was just given may not be in use yet.
	settle time.Duration
}

// change is one thing a plan did to the Secret, for the log and the metrics.
type change struct {
	what     string // "ca" or "serving"
	reason   string
	serial   string
	notAfter time.Time
}

// The values of change.what, the certificate label of the rotations metric.
const (
	changeCA      = "ca"
	changeServing = "serving"
)

// plan is the Secret's next state: expired CAs dropped, a new CA once the
// signing one is two thirds through its life (kept next to the old one, which
// stays trusted until it expires), and a new serving certificate when the
// current one is missing, broken, for other names, expired, two thirds
// through its life, or signed by a CA that no longer signs.
//
// A serving certificate that is still good is replaced only by one whose CA
// trustedSince says has been in the caBundle for at least p.settle, so that a
// certificate is never served before the API server trusts its CA. A missing
// or unusable one is replaced at once: nothing valid would be served anyway.
//
// trustedSince says since when the caBundle has held a CA (false: it does
// not). plan does not change st; no changes means next is st.
func plan(st state, p policy, now time.Time, trustedSince func(*x509.Certificate) (time.Time, bool)) (next state, changes []change, err error) {
	next = st
	next.cas = slices.DeleteFunc(slices.Clone(st.cas), func(c *x509.Certificate) bool { return !now.Before(c.NotAfter) })
	if len(next.cas) < len(st.cas) {
		changes = append(changes, change{what: changeCA, reason: fmt.Sprintf("dropped %d expired CA(s) from the caBundle", len(st.cas)-len(next.cas))})
	}

	caReason := ""
	switch {
	case st.signer == nil:
		caReason = "no usable CA"
	case !now.Before(st.signer.cert.NotAfter):
		caReason = "CA expired"
	case !slices.ContainsFunc(next.cas, st.signer.cert.Equal):
		caReason = "CA key without its certificate"
	case !now.Before(renewalTime(st.signer.cert)):
		caReason = "CA two thirds through its validity"
	}
	if caReason != "" {
		ca, err := newAuthority(now, p.caValidity)
		if err != nil {
			return st, nil, err
		}
		next.signer = ca
		next.cas = append(next.cas, ca.cert)
		changes = append(changes, change{what: changeCA, reason: caReason, serial: ca.cert.SerialNumber.String(), notAfter: ca.cert.NotAfter})
	}

	servingReason := ""
	if reason := unusable(st.cert, next.cas, p.dnsNames, now); reason != "" {
		servingReason = reason
	} else if since, ok := trustedSince(next.signer.cert); ok && now.Sub(since) >= p.settle {
		switch {
		case st.cert.Leaf.CheckSignatureFrom(next.signer.cert) != nil:
			servingReason = "signed by the previous CA"
		case !now.Before(renewalTime(st.cert.Leaf)):
			servingReason = "two thirds through its validity"
		}
	}
	if servingReason != "" {
		certPEM, keyPEM, err := next.signer.issue(p.dnsNames, nil, now, p.validity)
		if err != nil {
			return st, nil, err
		}
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return st, nil, fmt.Errorf("load the serving certificate just issued: %w", err)
		}
		next.cert = &pair
		changes = append(changes, change{what: changeServing, reason: servingReason, serial: pair.Leaf.SerialNumber.String(), notAfter: pair.Leaf.NotAfter})
	}
	if len(changes) == 0 {
		return st, nil, nil
	}
	return next, changes, nil
}

// unusable says why cert cannot be served now for dnsNames with cas trusted
// ("" when it can).
func unusable(cert *tls.Certificate, cas []*x509.Certificate, dnsNames []string, now time.Time) string {
	if cert == nil || cert.Leaf == nil {
		return "no serving certificate"
	}
	leaf := cert.Leaf
	if !slices.Equal(leaf.DNSNames, dnsNames) {
		return fmt.Sprintf("issued for %v, want %v", leaf.DNSNames, dnsNames)
	}
	if err := verify(leaf, cas, dnsNames[0], now); err != nil {
		return err.Error()
	}
	return ""
}

// verify checks leaf the way the API server will: a server certificate for
// name, valid at now, signed by one of cas.
func verify(leaf *x509.Certificate, cas []*x509.Certificate, name string, now time.Time) error {
	roots := x509.NewCertPool()
	for _, c := range cas {
		roots.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{
		Roots:       roots,
		DNSName:     name,
		CurrentTime: now,
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	return err
}
