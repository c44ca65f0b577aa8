package manifests

import (
	"context"
	"slices"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/webhook"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/cel/environment"
)

// shippedWebhook returns the one webhook of the default overlay's
// MutatingWebhookConfiguration.
func shippedWebhook(t *testing.T, objs objects) (admissionregistrationv1.MutatingWebhookConfiguration, admissionregistrationv1.MutatingWebhook) {
	t.Helper()
	var cfg admissionregistrationv1.MutatingWebhookConfiguration
	objs.decode(t, "MutatingWebhookConfiguration", "", "jobcheck", &cfg)
	if len(cfg.Webhooks) != 1 {
		t.Fatalf("MutatingWebhookConfiguration jobcheck has %d webhooks, want 1", len(cfg.Webhooks))
	}
	return cfg, cfg.Webhooks[0]
}

// TestWebhookNeverBlocksPods checks the settings that keep jobcheck from ever
// failing or slowing a pod creation: fail-open, no side effects, a short
// timeout, Pod CREATE only, reached through the shipped Service at /mutate.
func TestWebhookNeverBlocksPods(t *testing.T) {
	for _, f := range installs {
		t.Run(f, func(t *testing.T) { webhookNeverBlocksPods(t, f, load(t, f)) })
	}
}

func webhookNeverBlocksPods(t *testing.T, file string, objs objects) {
	cfg, wh := shippedWebhook(t, objs)

	if wh.Name != "pods.jobcheck.io" {
		t.Errorf("webhook name = %q, want pods.jobcheck.io", wh.Name)
	}
	if wh.FailurePolicy == nil || *wh.FailurePolicy != admissionregistrationv1.Ignore {
		t.Errorf("failurePolicy = %s, want Ignore (a webhook that is down must not block pods)", show(wh.FailurePolicy))
	}
	// The webhook records Events about pods it could not monitor, never on
	// a dry run: `kubectl apply --dry-run=server` of a Job still works.
	if wh.SideEffects == nil || *wh.SideEffects != admissionregistrationv1.SideEffectClassNoneOnDryRun {
		t.Errorf("sideEffects = %s, want NoneOnDryRun", show(wh.SideEffects))
	}
	if wh.TimeoutSeconds == nil || *wh.TimeoutSeconds > 10 || *wh.TimeoutSeconds < 1 {
		t.Errorf("timeoutSeconds = %s, want set and at most 10", show(wh.TimeoutSeconds))
	}
	if !slices.Contains(wh.AdmissionReviewVersions, "v1") {
		t.Errorf("admissionReviewVersions = %v, want v1 among them", wh.AdmissionReviewVersions)
	}
	if wh.ObjectSelector != nil && (len(wh.ObjectSelector.MatchLabels) > 0 || len(wh.ObjectSelector.MatchExpressions) > 0) {
		t.Errorf("objectSelector = %v, want none (opt-in is by annotation, read by the webhook)", wh.ObjectSelector)
	}
	if len(wh.Rules) != 1 {
		t.Fatalf("rules = %v, want exactly one (pods CREATE)", wh.Rules)
	}
	r := wh.Rules[0]
	if !slices.Equal(r.Operations, []admissionregistrationv1.OperationType{admissionregistrationv1.Create}) ||
		!slices.Equal(r.APIGroups, []string{""}) || !slices.Equal(r.APIVersions, []string{"v1"}) ||
		!slices.Equal(r.Resources, []string{"pods"}) {
		t.Errorf("rule = %+v, want operations [CREATE] on apiGroups [\"\"] apiVersions [v1] resources [pods]", r)
	}
	if r.Scope == nil || *r.Scope != admissionregistrationv1.NamespacedScope {
		t.Errorf("rule scope = %s, want Namespaced", show(r.Scope))
	}

	// The CA comes from cert-manager's serving Certificate, or the webhook
	// writes it; either way the shipped caBundle is empty, so that
	// `kubectl apply` and Helm upgrades never overwrite it.
	want := ""
	if file == installCertManager {
		want = "jobcheck-system/jobcheck-webhook"
	}
	if got := cfg.Annotations["cert-manager.io/inject-ca-from"]; got != want {
		t.Errorf("annotation cert-manager.io/inject-ca-from = %q, want %q", got, want)
	}
	if len(wh.ClientConfig.CABundle) > 0 {
		t.Error("a caBundle is shipped")
	}
	// The API server calls the Service, which must exist and lead to the
	// webhook container's HTTPS port.
	svc := wh.ClientConfig.Service
	if svc == nil || wh.ClientConfig.URL != nil {
		t.Fatalf("clientConfig = %+v, want a service reference", wh.ClientConfig)
	}
	if svc.Path == nil || *svc.Path != "/mutate" {
		t.Errorf("clientConfig.service.path = %s, want /mutate", show(svc.Path))
	}
	port := int32(443)
	if svc.Port != nil {
		port = *svc.Port
	}
	if got := servicePortTarget(t, objs, svc.Namespace, svc.Name, port); got != 8443 {
		t.Errorf("Service %s/%s port %d leads to container port %d, want the webhook's 8443", svc.Namespace, svc.Name, port, got)
	}
}

// TestWebhookOnlySeesOptedInNamespaces evaluates the namespaceSelector the way
// the API server does: labelled namespaces match; unlabelled ones, system
// namespaces and jobcheck's own never do, even when labelled.
func TestWebhookOnlySeesOptedInNamespaces(t *testing.T) {
	objs := load(t, install)
	_, wh := shippedWebhook(t, objs)
	sel, err := metav1.LabelSelectorAsSelector(wh.NamespaceSelector)
	if err != nil {
		t.Fatalf("namespaceSelector: %v", err)
	}
	var own corev1.Namespace
	objs.decode(t, "Namespace", "", "jobcheck-system", &own)

	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   bool
	}{
		{"team", map[string]string{"jobcheck.io/injection": "enabled"}, true},
		{"team", nil, false},
		{"team", map[string]string{"jobcheck.io/injection": "disabled"}, false},
		{"team", map[string]string{"jobcheck.io/injection": "true"}, false},
		{"kube-system", map[string]string{"jobcheck.io/injection": "enabled"}, false},
		{"kube-public", map[string]string{"jobcheck.io/injection": "enabled"}, false},
		{"kube-node-lease", map[string]string{"jobcheck.io/injection": "enabled"}, false},
		{"jobcheck-system", map[string]string{"jobcheck.io/injection": "enabled"}, false},
		{"jobcheck-system", own.Labels, false},
	} {
		set := labels.Set{"kubernetes.io/metadata.name": tc.name} // the API server sets it on every namespace
		for k, v := range tc.labels {
			set[k] = v
		}
		if got := sel.Matches(set); got != tc.want {
			t.Errorf("namespace %s with labels %v: selected = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}
}

// TestWebhookOnlySeesJobPods runs the matchConditions through the API
// server's own compiler and matcher (k8s.io/apiserver): a pod owned by a Job
// reaches the webhook; bare pods and pods of other controllers never do. A
// condition that failed to compile would never match (failurePolicy Ignore),
// so the Job case also proves the expression compiles.
func TestWebhookOnlySeesJobPods(t *testing.T) {
	_, wh := shippedWebhook(t, load(t, install))
	if len(wh.MatchConditions) == 0 {
		t.Fatal("no matchConditions: every pod of a labelled namespace would reach the webhook")
	}
	compiler := cel.NewConditionCompiler(environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion()))
	matcher := webhook.NewMutatingWebhookAccessor("test", "jobcheck", &wh).GetCompiledMatcher(compiler)

	owner := func(apiVersion, kind string) []metav1.OwnerReference {
		return []metav1.OwnerReference{{APIVersion: apiVersion, Kind: kind, Name: "x", UID: "u", Controller: new(true)}}
	}
	for _, tc := range []struct {
		what   string
		owners []metav1.OwnerReference
		want   bool
	}{
		{"pod of a Job", owner("batch/v1", "Job"), true},
		{"bare pod", nil, false},
		{"pod of a ReplicaSet", owner("apps/v1", "ReplicaSet"), false},
		{"pod of a StatefulSet", owner("apps/v1", "StatefulSet"), false},
		{"pod of a custom Job kind", owner("example.com/v1", "Job"), false},
	} {
		pod := &corev1.Pod{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
			ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "team", OwnerReferences: tc.owners},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
		}
		gvk := corev1.SchemeGroupVersion.WithKind("Pod")
		attrs := admission.NewAttributesRecord(pod, nil, gvk, "team", "p",
			corev1.SchemeGroupVersion.WithResource("pods"), "", admission.Create, &metav1.CreateOptions{},
			false, &user.DefaultInfo{Name: "system:serviceaccount:kube-system:job-controller"})
		res := matcher.Match(context.Background(), &admission.VersionedAttributes{
			Attributes: attrs, VersionedKind: gvk, VersionedObject: pod,
		}, nil, nil)
		if res.Error != nil {
			t.Errorf("%s: matchConditions error: %v", tc.what, res.Error)
		}
		if res.Matches != tc.want {
			t.Errorf("%s: reaches the webhook = %v, want %v (failed condition %q)", tc.what, res.Matches, tc.want, res.FailedConditionName)
		}
	}
}

// servicePortTarget follows Service namespace/name's port to the Deployment
// container port it targets (by number or by name).
func servicePortTarget(t *testing.T, objs objects, namespace, name string, port int32) int32 {
	t.Helper()
	var svc corev1.Service
	objs.decode(t, "Service", namespace, name, &svc)
	dep := webhookDeployment(t, objs)
	if !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(dep.Spec.Template.Labels)) || len(svc.Spec.Selector) == 0 {
		t.Fatalf("Service %s/%s selector %v does not select the webhook pods %v", namespace, name, svc.Spec.Selector, dep.Spec.Template.Labels)
	}
	for _, p := range svc.Spec.Ports {
		if p.Port != port {
			continue
		}
		if p.TargetPort.StrVal == "" {
			return p.TargetPort.IntVal
		}
		for _, c := range dep.Spec.Template.Spec.Containers {
			for _, cp := range c.Ports {
				if cp.Name == p.TargetPort.StrVal {
					return cp.ContainerPort
				}
			}
		}
		t.Fatalf("Service %s/%s port %d targets %q, which no container port is named", namespace, name, port, p.TargetPort.StrVal)
	}
	t.Fatalf("Service %s/%s has no port %d", namespace, name, port)
	return 0
}
