package certs

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"
)

// TestShippedRBACIsEnoughAndNoMore applies the objects of the static install
// (manifests/install.yaml, rendered from the Helm chart) that the certificate
// needs: its namespace, ServiceAccount, roles, empty Secret and webhook
// configuration. A Manager configured with the Deployment's own flags and
// acting as its ServiceAccount then fills the Secret and the caBundle and
// becomes ready; the same identity may not write another Secret of its
// namespace nor another webhook configuration.
func TestShippedRBACIsEnoughAndNoMore(t *testing.T) {
	admin := apiServer(t)
	client := clientFor(t, admin)
	ctx := context.Background()
	data, err := os.ReadFile("../manifests/install.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var dep appsv1.Deployment
	for _, doc := range strings.Split(string(data), "\n---\n") {
		var head metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			t.Fatal(err)
		}
		if head.Kind == "Deployment" {
			if err := yaml.UnmarshalStrict([]byte(doc), &dep); err != nil {
				t.Fatal(err)
			}
			continue
		}
		create(t, ctx, client, head.Kind, []byte(doc))
	}
	t.Cleanup(func() {
		_ = client.AdmissionregistrationV1().MutatingWebhookConfigurations().Delete(context.Background(), "jobcheck", metav1.DeleteOptions{})
		_ = client.CoreV1().Namespaces().Delete(context.Background(), dep.Namespace, metav1.DeleteOptions{})
	})

	flags := map[string]string{}
	for _, a := range dep.Spec.Template.Spec.Containers[0].Args {
		name, value, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		flags[name] = value
	}
	ns, secret, _ := strings.Cut(flags["cert-secret"], "/")
	as := admin
	as.Impersonate.UserName = "system:serviceaccount:" + dep.Namespace + ":" + dep.Spec.Template.Spec.ServiceAccountName
	sa := clientFor(t, as)
	m, err := NewManager(Options{
		Client: sa, Namespace: ns, Secret: secret, WebhookConfiguration: flags["cert-webhook-configuration"],
		DNSNames: strings.Split(flags["cert-dns-names"], ","), Validity: time.Hour, CAValidity: 24 * time.Hour, Interval: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.sync(ctx, discard()); err != nil {
		t.Fatalf("sync as %s: %v", as.Impersonate.UserName, err)
	}
	if !m.Ready() {
		t.Error("not ready after a sync with the shipped RBAC")
	}
	// Deleted by hand: created again.
	if err := client.CoreV1().Secrets(ns).Delete(ctx, secret, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := m.sync(ctx, discard()); err != nil {
		t.Fatalf("sync after the Secret was deleted: %v", err)
	}

	other := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "someone-elses", Namespace: ns}}
	if _, err := client.CoreV1().Secrets(ns).Create(ctx, other, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	other.StringData = map[string]string{"x": "y"}
	if _, err := sa.CoreV1().Secrets(ns).Update(ctx, other, metav1.UpdateOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("update another Secret of %s: %v, want Forbidden", ns, err)
	}
	f := newFixture(t)
	_, err = sa.AdmissionregistrationV1().MutatingWebhookConfigurations().Patch(ctx, f.config, types.MergePatchType,
		[]byte(`{"metadata":{"annotations":{"x":"y"}}}`), metav1.PatchOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("patch another MutatingWebhookConfiguration: %v, want Forbidden", err)
	}
}

// create makes the object of one document, for the kinds the certificate
// depends on; others are skipped.
func create(t *testing.T, ctx context.Context, c kubernetes.Interface, kind string, doc []byte) {
	t.Helper()
	var err error
	decode := func(into any) bool {
		if err := yaml.UnmarshalStrict(doc, into); err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		return true
	}
	switch kind {
	case "Namespace":
		var o corev1.Namespace
		decode(&o)
		_, err = c.CoreV1().Namespaces().Create(ctx, &o, metav1.CreateOptions{})
	case "ServiceAccount":
		var o corev1.ServiceAccount
		decode(&o)
		_, err = c.CoreV1().ServiceAccounts(o.Namespace).Create(ctx, &o, metav1.CreateOptions{})
	case "Secret":
		var o corev1.Secret
		decode(&o)
		_, err = c.CoreV1().Secrets(o.Namespace).Create(ctx, &o, metav1.CreateOptions{})
	case "ClusterRole":
		var o rbacv1.ClusterRole
		decode(&o)
		_, err = c.RbacV1().ClusterRoles().Create(ctx, &o, metav1.CreateOptions{})
	case "ClusterRoleBinding":
		var o rbacv1.ClusterRoleBinding
		decode(&o)
		_, err = c.RbacV1().ClusterRoleBindings().Create(ctx, &o, metav1.CreateOptions{})
	case "Role":
		var o rbacv1.Role
		decode(&o)
		_, err = c.RbacV1().Roles(o.Namespace).Create(ctx, &o, metav1.CreateOptions{})
	case "RoleBinding":
		var o rbacv1.RoleBinding
		decode(&o)
		_, err = c.RbacV1().RoleBindings(o.Namespace).Create(ctx, &o, metav1.CreateOptions{})
	case "MutatingWebhookConfiguration":
		var o admissionregistrationv1.MutatingWebhookConfiguration
		decode(&o)
		_, err = c.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, &o, metav1.CreateOptions{})
	}
	if err != nil {
		t.Fatalf("create %s: %v", kind, err)
	}
}
