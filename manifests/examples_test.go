package manifests

import (
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// TestExampleIsInjected checks the example does what it shows: its namespace
// passes the shipped webhook's namespaceSelector, the CronJob opts in, its
// settings parse, and its container has a command for jobcheck to wrap.
func TestExampleIsInjected(t *testing.T) {
	_, wh := shippedWebhook(t, build(t, "overlays/default"))
	sel, err := metav1.LabelSelectorAsSelector(wh.NamespaceSelector)
	if err != nil {
		t.Fatal(err)
	}
	objs := build(t, "examples")
	var cj batchv1.CronJob
	objs.decode(t, "CronJob", "example", "nightly-report", &cj)
	var ns corev1.Namespace
	objs.decode(t, "Namespace", "", cj.Namespace, &ns)
	set := labels.Set{"kubernetes.io/metadata.name": ns.Name}
	for k, v := range ns.Labels {
		set[k] = v
	}
	if !sel.Matches(set) {
		t.Errorf("namespace %s (labels %v) is not selected by the webhook", ns.Name, ns.Labels)
	}
	if got := cj.Annotations["jobcheck.io/enabled"]; got != "true" {
		t.Errorf("CronJob annotation jobcheck.io/enabled = %q, want \"true\"", got)
	}
	for _, a := range []string{"jobcheck.io/max-age", "jobcheck.io/grace"} {
		if d, err := time.ParseDuration(cj.Annotations[a]); err != nil || d <= 0 {
			t.Errorf("CronJob annotation %s = %q: want a positive Go duration", a, cj.Annotations[a])
		}
	}
	for _, c := range cj.Spec.JobTemplate.Spec.Template.Spec.Containers {
		if len(c.Command) == 0 {
			t.Errorf("container %s has no command: jobcheck would not wrap it", c.Name)
		}
	}
}
