package manifests

import (
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/jobcheck/jobcheck/runs"
)

// grant is one permission: verb on resource of group, limited to names
// (none: any object, as create and list must be).
type grant struct {
	group, resource, verb string
	names                 []string
}

// allowedRules is everything the webhook may do, and why; anything else a
// shipped role grants fails TestRBACIsLeastPrivilege.
var allowedRules = []struct {
	cluster  bool // ClusterRole; else the Role in the webhook's namespace
	grant    grant
	why      string
	selfCert bool // only for the self-managed certificate (not with cert-manager)
}{
	{true, grant{"batch", "jobs", "get", nil}, "a pod's Job, for its annotations", false},
	{true, grant{"batch", "jobs", "list", nil}, "the run watcher's informer", false},
	{true, grant{"batch", "jobs", "watch", nil}, "the run watcher's informer", false},
	{true, grant{"batch", "cronjobs", "get", nil}, "a Job's CronJob, for its annotations and schedule", false},
	{true, grant{"batch", "cronjobs", "list", nil}, "the run watcher's informer", false},
	{true, grant{"batch", "cronjobs", "watch", nil}, "the run watcher's informer", false},
	{true, grant{"", "pods", "get", nil}, "the run watcher: the pods jobcheck injected", false},
	{true, grant{"", "pods", "list", nil}, "the run watcher's informer", false},
	{true, grant{"", "pods", "watch", nil}, "the run watcher's informer", false},
	{true, grant{"", "events", "create", nil}, "Events on pods and Jobs it could not monitor", false},
	{true, grant{"", "events", "patch", nil}, "client-go counts repeated Events with a patch", false},
	{true, grant{"", "secrets", "get", nil}, "image pull secrets (rbac.imagePullSecrets)", false},
	{true, grant{"", "serviceaccounts", "get", nil}, "a ServiceAccount's image pull secrets", false},
	{true, grant{"admissionregistration.k8s.io", "mutatingwebhookconfigurations", "get", []string{"jobcheck"}}, "its own caBundle", true},
	{true, grant{"admissionregistration.k8s.io", "mutatingwebhookconfigurations", "patch", []string{"jobcheck"}}, "its own caBundle", true},
	{false, grant{"coordination.k8s.io", "leases", "create", nil}, "the run watcher's Lease, the first time", false},
	{false, grant{"coordination.k8s.io", "leases", "get", []string{runs.DefaultLeaseName}}, "the run watcher's leader election", false},
	{false, grant{"coordination.k8s.io", "leases", "update", []string{runs.DefaultLeaseName}}, "the run watcher's leader election", false},
	{false, grant{"", "secrets", "create", nil}, "its own certificate's Secret, when deleted", true},
	{false, grant{"", "secrets", "get", []string{"jobcheck-webhook-certs"}}, "its own certificate", true},
	{false, grant{"", "secrets", "update", []string{"jobcheck-webhook-certs"}}, "its own certificate", true},
}

// expand lists every single grant of rules.
func expand(rules []rbacv1.PolicyRule) []grant {
	var out []grant
	for _, r := range rules {
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				for _, v := range r.Verbs {
					out = append(out, grant{g, res, v, r.ResourceNames})
				}
			}
		}
	}
	return out
}

func (g grant) String() string {
	s := g.verb + " " + g.resource
	if g.group != "" {
		s += "." + g.group
	}
	if len(g.names) > 0 {
		s += " " + strings.Join(g.names, ",")
	}
	return s
}

// TestRBACIsLeastPrivilege checks each shipped role grants only what the
// webhook needs, limited to its own objects by name where Kubernetes allows,
// and that the webhook's ServiceAccount is what the roles are bound to.
// Without cert-manager the webhook keeps its own certificate: it writes its
// Secret and its webhook configuration's caBundle; with cert-manager it needs
// neither.
func TestRBACIsLeastPrivilege(t *testing.T) {
	for _, f := range installs {
		t.Run(f, func(t *testing.T) {
			objs := load(t, f)
			var cr rbacv1.ClusterRole
			objs.decode(t, "ClusterRole", "", "jobcheck-webhook", &cr)
			var r rbacv1.Role
			objs.decode(t, "Role", "jobcheck-system", "jobcheck-webhook", &r)
			if cr.AggregationRule != nil {
				t.Error("ClusterRole jobcheck-webhook aggregates other roles")
			}
			for _, rule := range append(slices.Clone(cr.Rules), r.Rules...) {
				if len(rule.NonResourceURLs) > 0 || slices.Contains(rule.Verbs, "*") || slices.Contains(rule.Resources, "*") || slices.Contains(rule.APIGroups, "*") {
					t.Errorf("rule %+v uses a wildcard or non-resource URLs", rule)
				}
			}
			selfManaged := f == install
			for _, role := range []struct {
				cluster bool
				rules   []rbacv1.PolicyRule
			}{{true, cr.Rules}, {false, r.Rules}} {
				got := expand(role.rules)
				for _, g := range got {
					ok := false
					for _, a := range allowedRules {
						ok = ok || a.cluster == role.cluster && a.grant.group == g.group && a.grant.resource == g.resource &&
							a.grant.verb == g.verb && slices.Equal(a.grant.names, g.names)
					}
					if !ok {
						t.Errorf("grants %s (cluster-wide: %v): not a permission the webhook needs, or not limited to its own object", g, role.cluster)
					}
				}
				for _, a := range allowedRules {
					if a.cluster != role.cluster {
						continue
					}
					want := !a.selfCert || selfManaged
					has := slices.ContainsFunc(got, func(g grant) bool {
						return g.group == a.grant.group && g.resource == a.grant.resource && g.verb == a.grant.verb && slices.Equal(g.names, a.grant.names)
					})
					if has != want {
						t.Errorf("%s granted = %v, want %v (%s)", a.grant, has, want, a.why)
					}
				}
			}

			dep := webhookDeployment(t, objs)
			want := rbacv1.Subject{Kind: "ServiceAccount", Name: dep.Spec.Template.Spec.ServiceAccountName, Namespace: dep.Namespace}
			var crb rbacv1.ClusterRoleBinding
			objs.decode(t, "ClusterRoleBinding", "", "jobcheck-webhook", &crb)
			var rb rbacv1.RoleBinding
			objs.decode(t, "RoleBinding", "jobcheck-system", "jobcheck-webhook", &rb)
			if crb.RoleRef.Kind != "ClusterRole" || crb.RoleRef.Name != cr.Name || len(crb.Subjects) != 1 || crb.Subjects[0] != want {
				t.Errorf("ClusterRoleBinding %+v, want ClusterRole %s bound to %+v only", crb, cr.Name, want)
			}
			if rb.RoleRef.Kind != "Role" || rb.RoleRef.Name != r.Name || len(rb.Subjects) != 1 || rb.Subjects[0] != want {
				t.Errorf("RoleBinding %+v, want Role %s bound to %+v only", rb, r.Name, want)
			}
			objs.decode(t, "ServiceAccount", want.Namespace, want.Name, new(map[string]any))
		})
	}
}
