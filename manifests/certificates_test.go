package manifests

import (
	"slices"
	"strings"
	"testing"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
)

// TestCertificateChain follows what cert-manager will do with the shipped
// objects: the webhook configuration's CA comes from the serving Certificate,
// which is issued by a CA Issuer whose CA is a self-signed Certificate; the
// serving certificate names the Service the API server calls and lands in the
// Secret the Deployment mounts.
func TestCertificateChain(t *testing.T) {
	objs := load(t, installCertManager)
	var cfg admissionregistrationv1.MutatingWebhookConfiguration
	objs.decode(t, "MutatingWebhookConfiguration", "", "jobcheck", &cfg)
	ns, name, ok := strings.Cut(cfg.Annotations["cert-manager.io/inject-ca-from"], "/")
	if !ok {
		t.Fatalf("annotation cert-manager.io/inject-ca-from = %q, want namespace/name", cfg.Annotations["cert-manager.io/inject-ca-from"])
	}
	var serving cmapi.Certificate
	objs.decode(t, "Certificate", ns, name, &serving)

	svc := cfg.Webhooks[0].ClientConfig.Service
	if svc == nil {
		t.Fatal("the webhook is not called through a Service")
	}
	host := svc.Name + "." + svc.Namespace + ".svc"
	if !slices.Contains(serving.Spec.DNSNames, host) {
		t.Errorf("serving certificate dnsNames = %v, want %s (the name the API server dials)", serving.Spec.DNSNames, host)
	}
	if serving.Spec.SecretName != "jobcheck-webhook-tls" {
		t.Errorf("serving certificate secretName = %q, want jobcheck-webhook-tls (mounted by the Deployment)", serving.Spec.SecretName)
	}
	if serving.Spec.Duration == nil || serving.Spec.RenewBefore == nil ||
		serving.Spec.RenewBefore.Duration >= serving.Spec.Duration.Duration {
		t.Errorf("serving certificate duration %v renewBefore %v: want both set, renewal before expiry",
			serving.Spec.Duration, serving.Spec.RenewBefore)
	}

	var caIssuer cmapi.Issuer
	ref := serving.Spec.IssuerRef
	if ref.Kind != "Issuer" {
		t.Fatalf("serving certificate issuerRef kind = %q, want the namespace's Issuer", ref.Kind)
	}
	objs.decode(t, "Issuer", ns, ref.Name, &caIssuer)
	if caIssuer.Spec.CA == nil {
		t.Fatalf("Issuer %s is not a CA issuer", ref.Name)
	}
	var ca cmapi.Certificate
	found := false
	for _, nn := range objs.names("Certificate") {
		cns, cname, _ := strings.Cut(nn, "/")
		var c cmapi.Certificate
		objs.decode(t, "Certificate", cns, cname, &c)
		if cns == ns && c.Spec.SecretName == caIssuer.Spec.CA.SecretName {
			ca, found = c, true
		}
	}
	if !found || !ca.Spec.IsCA {
		t.Fatalf("no isCA Certificate writes the CA Issuer's Secret %s", caIssuer.Spec.CA.SecretName)
	}
	var root cmapi.Issuer
	objs.decode(t, "Issuer", ns, ca.Spec.IssuerRef.Name, &root)
	if root.Spec.SelfSigned == nil {
		t.Errorf("CA certificate %s is issued by %s, want a selfSigned Issuer", ca.Name, ca.Spec.IssuerRef.Name)
	}
}
