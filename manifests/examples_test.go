package manifests

import (
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/jobcheck/jobcheck/contract"
)

// TestExampleIsInjected checks the example does what it shows: its namespace
// passes the shipped webhook's namespaceSelector, the CronJob opts in, its
// settings parse, and its container has a command for jobcheck to wrap.
func TestExampleIsInjected(t *testing.T) {
	_, wh := shippedWebhook(t, load(t, install))
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

// TestExampleNetworkPolicyLetsInjectedPodsPush checks the example
// NetworkPolicy sits in the example's namespace and applies to exactly the
// pods jobcheck injects (labelled contract.LabelInjected), with egress to
// the Pushgateway's port and to DNS.
func TestExampleNetworkPolicyLetsInjectedPodsPush(t *testing.T) {
	objs := build(t, "examples")
	var np networkingv1.NetworkPolicy
	objs.decode(t, "NetworkPolicy", "example", "jobcheck-pushgateway-egress", &np)
	sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
	if err != nil {
		t.Fatal(err)
	}
	if !sel.Matches(labels.Set{contract.LabelInjected: "true"}) || sel.Matches(labels.Set{}) {
		t.Errorf("podSelector %v, want the pods labelled %s=true only", np.Spec.PodSelector, contract.LabelInjected)
	}
	ports := map[string]bool{}
	for _, e := range np.Spec.Egress {
		for _, p := range e.Ports {
			ports[string(*p.Protocol)+"/"+p.Port.String()] = true
		}
	}
	for _, want := range []string{"TCP/9091", "UDP/53", "TCP/53"} {
		if !ports[want] {
			t.Errorf("egress ports %v lack %s", ports, want)
		}
	}
}
