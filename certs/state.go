package certs

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"slices"
	"strconv"

	"github.com/cert-manager/cert-manager/pkg/util/pki"
	corev1 "k8s.io/api/core/v1"
)

// The keys of the Secret a Manager keeps, besides CertFile and KeyFile (the
// serving pair): CAFile holds every CA the caBundle trusts, CAKeyFile the key
// of the one that signs new serving certificates.
const CAKeyFile = "ca.key"

// GenerationAnnotation numbers the Secret's contents: every write of a Manager
// sets it one above the highest it has seen on the Secret and on the webhook
// configuration, and the caBundle is written with the generation it comes
// from. A replica holding an older Secret than the one the caBundle was made
// from never writes the caBundle back to it.
const GenerationAnnotation = "jobcheck.io/certificate-generation"

// state is what a Manager keeps in its Secret.
type state struct {
	cas        []*x509.Certificate // trusted by the caBundle, oldest first
	signer     *authority          // the CA of cas whose key is held; nil: none usable
	cert       *tls.Certificate    // the serving pair, Leaf set; nil: none usable
	generation int64
}

// readState parses a Secret (nil: none yet). What cannot be parsed is left
// out of the state and described in problems, so that the Manager replaces it
// instead of failing forever on a broken Secret.
func readState(s *corev1.Secret) (st state, problems []string) {
	if s == nil {
		return st, []string{"no Secret"}
	}
	if g, ok := s.Annotations[GenerationAnnotation]; ok {
		n, err := strconv.ParseInt(g, 10, 64)
		if err != nil || n < 0 {
			problems = append(problems, fmt.Sprintf("annotation %s=%q is not a generation", GenerationAnnotation, g))
		} else {
			st.generation = n
		}
	}
	if len(s.Data[CAFile]) > 0 {
		cas, err := pki.DecodeX509CertificateSetBytes(s.Data[CAFile])
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", CAFile, err))
		}
		for _, c := range cas {
			if c.IsCA {
				st.cas = append(st.cas, c)
			}
		}
	}
	if len(s.Data[CAKeyFile]) > 0 {
		st.signer = findSigner(st.cas, s.Data[CAKeyFile])
		if st.signer == nil {
			problems = append(problems, fmt.Sprintf("%s belongs to no CA of %s", CAKeyFile, CAFile))
		}
	} else {
		problems = append(problems, "no CA key")
	}
	if len(s.Data[CertFile]) > 0 || len(s.Data[KeyFile]) > 0 {
		pair, err := tls.X509KeyPair(s.Data[CertFile], s.Data[KeyFile])
		if err != nil {
			problems = append(problems, fmt.Sprintf("serving certificate: %v", err))
		} else {
			st.cert = &pair
		}
	} else {
		problems = append(problems, "no serving certificate")
	}
	return st, problems
}

// findSigner returns the CA of cas that keyPEM is the key of.
func findSigner(cas []*x509.Certificate, keyPEM []byte) *authority {
	for _, c := range cas {
		certPEM, err := pki.EncodeX509(c)
		if err != nil {
			continue
		}
		if a, err := parseAuthority(certPEM, keyPEM); err == nil {
			return a
		}
	}
	return nil
}

// data is the Secret's content for st.
func (st state) data() (map[string][]byte, error) {
	cas, err := encodeCerts(st.cas)
	if err != nil {
		return nil, err
	}
	d := map[string][]byte{CAFile: cas}
	if st.signer != nil {
		d[CAKeyFile] = st.signer.keyPEM
	}
	if st.cert != nil {
		cert, err := encodeCerts([]*x509.Certificate{st.cert.Leaf})
		if err != nil {
			return nil, err
		}
		key, err := pki.EncodePKCS8PrivateKey(st.cert.PrivateKey)
		if err != nil {
			return nil, fmt.Errorf("encode serving key: %w", err)
		}
		d[CertFile], d[KeyFile] = cert, key
	}
	return d, nil
}

// encodeCerts is certs as concatenated PEM blocks.
func encodeCerts(certs []*x509.Certificate) ([]byte, error) {
	var b bytes.Buffer
	for _, c := range certs {
		p, err := pki.EncodeX509(c)
		if err != nil {
			return nil, fmt.Errorf("encode certificate %s: %w", c.Subject.CommonName, err)
		}
		b.Write(p)
	}
	return b.Bytes(), nil
}

// sameCerts reports whether a and b hold the same certificates, in any order.
func sameCerts(a, b []*x509.Certificate) bool {
	if len(a) != len(b) {
		return false
	}
	for _, c := range a {
		if !slices.ContainsFunc(b, c.Equal) {
			return false
		}
	}
	return true
}
