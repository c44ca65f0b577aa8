package manifests

import (
	"testing"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// kustomizations are the directories users may `kubectl apply -k`.
var kustomizations = []string{
	"prometheus",
	"examples",
}

// typed gives, for every apiVersion/kind the manifests ship, the Go type the
// API server decodes it into. The prometheus-operator kinds have no Go types
// in this module: they are checked field by field in prometheus_test.go.
var typed = map[string]func() any{
	"v1/Namespace":                                    func() any { return &corev1.Namespace{} },
	"v1/Secret":                                       func() any { return &corev1.Secret{} },
	"v1/ConfigMap":                                    func() any { return &corev1.ConfigMap{} },
	"networking.k8s.io/v1/NetworkPolicy":              func() any { return &networkingv1.NetworkPolicy{} },
	"rbac.authorization.k8s.io/v1/Role":               func() any { return &rbacv1.Role{} },
	"rbac.authorization.k8s.io/v1/RoleBinding":        func() any { return &rbacv1.RoleBinding{} },
	"v1/ServiceAccount":                               func() any { return &corev1.ServiceAccount{} },
	"v1/Service":                                      func() any { return &corev1.Service{} },
	"apps/v1/Deployment":                              func() any { return &appsv1.Deployment{} },
	"batch/v1/CronJob":                                func() any { return &batchv1.CronJob{} },
	"policy/v1/PodDisruptionBudget":                   func() any { return &policyv1.PodDisruptionBudget{} },
	"rbac.authorization.k8s.io/v1/ClusterRole":        func() any { return &rbacv1.ClusterRole{} },
	"rbac.authorization.k8s.io/v1/ClusterRoleBinding": func() any { return &rbacv1.ClusterRoleBinding{} },
	"admissionregistration.k8s.io/v1/MutatingWebhookConfiguration": func() any {
		return &admissionregistrationv1.MutatingWebhookConfiguration{}
	},
	"cert-manager.io/v1/Issuer":               func() any { return &cmapi.Issuer{} },
	"cert-manager.io/v1/Certificate":          func() any { return &cmapi.Certificate{} },
	"monitoring.coreos.com/v1/PrometheusRule": func() any { return &map[string]any{} },
	"monitoring.coreos.com/v1/ServiceMonitor": func() any { return &map[string]any{} },
}

// TestEveryObjectDecodes reads every static manifest and builds every
// kustomization, and decodes every object strictly into its API type, so a
// misspelt or misplaced field fails here rather than on a user's cluster.
func TestEveryObjectDecodes(t *testing.T) {
	sources := map[string]objects{}
	for _, f := range installs {
		sources[f] = load(t, f)
	}
	for _, dir := range kustomizations {
		sources[dir+"/"] = build(t, dir)
	}
	for name, objs := range sources {
		t.Run(name, func(t *testing.T) {
			if len(objs) == 0 {
				t.Fatalf("%s holds nothing", name)
			}
			for k, data := range objs {
				var head struct {
					APIVersion string `json:"apiVersion"`
					Kind       string `json:"kind"`
				}
				if err := yaml.Unmarshal(data, &head); err != nil {
					t.Fatalf("%s: %v", k, err)
				}
				newObj, ok := typed[head.APIVersion+"/"+head.Kind]
				if !ok {
					t.Errorf("%s: apiVersion %s kind %s is not one the tests know; add it to typed", k, head.APIVersion, head.Kind)
					continue
				}
				if err := yaml.UnmarshalStrict(data, newObj()); err != nil {
					t.Errorf("%s: %v", k, err)
				}
			}
		})
	}
}
