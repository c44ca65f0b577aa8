package manifests

import (
	"slices"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
)

// TestRBACIsReadOnlyJobs checks the webhook's only permissions: get, list and
// watch on batch jobs and cronjobs, bound to the ServiceAccount it runs as.
func TestRBACIsReadOnlyJobs(t *testing.T) {
	objs := build(t, "overlays/default")
	if roles := objs.names("Role"); len(roles) > 0 {
		t.Errorf("unexpected Roles %v: the webhook needs only its ClusterRole", roles)
	}
	roles := objs.names("ClusterRole")
	if len(roles) != 1 {
		t.Fatalf("ClusterRoles = %v, want exactly one", roles)
	}
	var role rbacv1.ClusterRole
	objs.decode(t, "ClusterRole", "", "jobcheck-webhook", &role)
	if len(role.Rules) == 0 {
		t.Fatal("ClusterRole jobcheck-webhook grants nothing: the webhook cannot read a pod's Job")
	}
	if role.AggregationRule != nil {
		t.Error("ClusterRole jobcheck-webhook aggregates other roles")
	}
	resources := map[string]bool{}
	for _, r := range role.Rules {
		for _, v := range r.Verbs {
			if !slices.Contains([]string{"get", "list", "watch"}, v) {
				t.Errorf("rule %+v grants verb %q; want only get, list, watch", r, v)
			}
		}
		if !slices.Equal(r.APIGroups, []string{"batch"}) || len(r.NonResourceURLs) > 0 {
			t.Errorf("rule %+v: want only apiGroups [batch] and no non-resource URLs", r)
		}
		for _, res := range r.Resources {
			if res != "jobs" && res != "cronjobs" {
				t.Errorf("rule %+v grants resource %q; want only jobs and cronjobs", r, res)
			}
			resources[res] = true
		}
	}
	if !resources["jobs"] || !resources["cronjobs"] {
		t.Errorf("ClusterRole covers %v, want jobs and cronjobs (the owner lookup reads both)", resources)
	}

	var binding rbacv1.ClusterRoleBinding
	objs.decode(t, "ClusterRoleBinding", "", "jobcheck-webhook", &binding)
	if binding.RoleRef.Kind != "ClusterRole" || binding.RoleRef.Name != role.Name {
		t.Errorf("ClusterRoleBinding refers to %s %s, want ClusterRole %s", binding.RoleRef.Kind, binding.RoleRef.Name, role.Name)
	}
	dep := webhookDeployment(t, objs)
	want := rbacv1.Subject{Kind: "ServiceAccount", Name: dep.Spec.Template.Spec.ServiceAccountName, Namespace: dep.Namespace}
	if len(binding.Subjects) != 1 || binding.Subjects[0] != want {
		t.Errorf("ClusterRoleBinding subjects = %+v, want only %+v (the Deployment's ServiceAccount)", binding.Subjects, want)
	}
	objs.decode(t, "ServiceAccount", want.Namespace, want.Name, new(map[string]any))
}
