package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/jobcheck/jobcheck/contract"
)

func variantNamed(t *testing.T, name string) variant {
	t.Helper()
	for _, v := range variants {
		if v.name == name {
			return v
		}
	}
	t.Fatalf("no variant %s", name)
	return variant{}
}

// webhookConfig returns the rendered MutatingWebhookConfiguration's one webhook.
func (o objects) webhookConfig(t *testing.T) (admissionregistrationv1.MutatingWebhookConfiguration, admissionregistrationv1.MutatingWebhook) {
	t.Helper()
	var cfg admissionregistrationv1.MutatingWebhookConfiguration
	o.decode(t, "MutatingWebhookConfiguration", "", "jobcheck", &cfg)
	if len(cfg.Webhooks) != 1 {
		t.Fatalf("%d webhooks, want 1", len(cfg.Webhooks))
	}
	return cfg, cfg.Webhooks[0]
}

// rules are the ClusterRole's and Role's rules.
func (o objects) rules(t *testing.T) (cluster, namespaced []rbacv1.PolicyRule) {
	t.Helper()
	var cr rbacv1.ClusterRole
	o.decode(t, "ClusterRole", "", "jobcheck-webhook", &cr)
	var r rbacv1.Role
	o.decode(t, "Role", releaseNamespace, "jobcheck-webhook", &r)
	return cr.Rules, r.Rules
}

// grants reports whether rules allow verb on resource (of group) named name
// ("" : any name, as for create or list).
func grants(rules []rbacv1.PolicyRule, group, resource, verb, name string) bool {
	for _, r := range rules {
		if slices.Contains(r.APIGroups, group) && slices.Contains(r.Resources, resource) && slices.Contains(r.Verbs, verb) &&
			(len(r.ResourceNames) == 0 || name != "" && slices.Contains(r.ResourceNames, name)) {
			return true
		}
	}
	return false
}

// TestDefaults checks the default rendering (values.yaml as shipped): the
// webhook keeps its own certificate in the chart's empty Secret and the
// caBundle of the configuration it is pointed at, the configuration is
// fail-open and side-effect free on dry runs, the images are the chart's
// version, and the injection defaults are contract's.
func TestDefaults(t *testing.T) {
	objs := renderObjects(t, nil)
	if objs.has("Namespace", "", releaseNamespace) {
		t.Error("a Namespace is rendered without createNamespace: helm install --create-namespace makes it")
	}
	for _, kind := range []string{"Certificate", "Issuer", "ServiceMonitor", "PrometheusRule", "ConfigMap", "NetworkPolicy"} {
		if got := objs.kinds(kind); len(got) > 0 {
			t.Errorf("default rendering has %v", got)
		}
	}

	dep, c := objs.deployment(t)
	f := flags(c)
	cfg, wh := objs.webhookConfig(t)
	svc := wh.ClientConfig.Service
	if svc == nil {
		t.Fatal("the webhook is not called through a Service")
	}
	host := svc.Name + "." + svc.Namespace + ".svc"
	secretNS, secretName, _ := strings.Cut(f["cert-secret"], "/")
	if secretNS != releaseNamespace || !objs.has("Secret", secretNS, secretName) {
		t.Errorf("--cert-secret=%s: want the chart's Secret in %s", f["cert-secret"], releaseNamespace)
	} else {
		var s corev1.Secret
		objs.decode(t, "Secret", secretNS, secretName, &s)
		if len(s.Data) > 0 || len(s.StringData) > 0 || s.Type != corev1.SecretTypeOpaque {
			t.Errorf("Secret %s: type %s with %d keys, want an empty Opaque Secret the webhook fills", secretName, s.Type, len(s.Data)+len(s.StringData))
		}
	}
	if f["cert-webhook-configuration"] != cfg.Name {
		t.Errorf("--cert-webhook-configuration=%s, the chart's configuration is %s", f["cert-webhook-configuration"], cfg.Name)
	}
	if names := strings.Split(f["cert-dns-names"], ","); names[0] != host {
		t.Errorf("--cert-dns-names=%s: want %s (the name the API server dials) first", f["cert-dns-names"], host)
	}
	for _, fl := range []string{"tls-cert-file", "tls-key-file"} {
		if _, ok := f[fl]; ok {
			t.Errorf("--%s set with a self-managed certificate", fl)
		}
	}
	if len(dep.Spec.Template.Spec.Volumes) > 0 {
		t.Errorf("volumes %v: the self-managed certificate is read through the API", dep.Spec.Template.Spec.Volumes)
	}

	if len(wh.ClientConfig.CABundle) > 0 || cfg.Annotations["cert-manager.io/inject-ca-from"] != "" {
		t.Error("the configuration carries a caBundle or cert-manager's annotation: the webhook writes the caBundle")
	}
	if wh.SideEffects == nil || *wh.SideEffects != admissionregistrationv1.SideEffectClassNoneOnDryRun {
		t.Errorf("sideEffects = %v, want NoneOnDryRun (Events, never on a dry run)", wh.SideEffects)
	}
	if wh.FailurePolicy == nil || *wh.FailurePolicy != admissionregistrationv1.Ignore {
		t.Errorf("failurePolicy = %v, want Ignore", wh.FailurePolicy)
	}

	cluster, namespaced := objs.rules(t)
	if !grants(cluster, "admissionregistration.k8s.io", "mutatingwebhookconfigurations", "patch", cfg.Name) ||
		grants(cluster, "admissionregistration.k8s.io", "mutatingwebhookconfigurations", "patch", "another") {
		t.Error("want patch on the chart's webhook configuration, by name, and on no other")
	}
	for _, verb := range []string{"get", "update"} {
		if !grants(namespaced, "", "secrets", verb, secretName) || grants(namespaced, "", "secrets", verb, "another") {
			t.Errorf("want %s on the Secret %s in the release namespace, by name, and on no other", verb, secretName)
		}
	}
	if grants(cluster, "", "secrets", "update", "") || grants(cluster, "", "secrets", "list", "") {
		t.Error("the ClusterRole writes or lists Secrets")
	}
	if !grants(cluster, "", "secrets", "get", "any") || !grants(cluster, "", "serviceaccounts", "get", "any") {
		t.Error("rbac.imagePullSecrets defaults on: want get on every Secret and ServiceAccount")
	}

	if c.Image != "ghcr.io/jobcheck/jobcheck-webhook:"+theChart(t).Metadata.AppVersion {
		t.Errorf("image %s, want the chart's appVersion %s", c.Image, theChart(t).Metadata.AppVersion)
	}
	if f["agent-image"] != "$(AGENT_IMAGE)" || env(c)["AGENT_IMAGE"].Value != "ghcr.io/jobcheck/jobcheck-agent:"+theChart(t).Metadata.AppVersion {
		t.Errorf("--agent-image=%s with AGENT_IMAGE=%s, want the agent at the chart's appVersion", f["agent-image"], env(c)["AGENT_IMAGE"].Value)
	}
	for _, tc := range []struct {
		flag string
		want time.Duration
	}{{"max-age", contract.DefaultMaxAge}, {"grace", contract.DefaultGrace}} {
		if d, err := time.ParseDuration(f[tc.flag]); err != nil || d != tc.want {
			t.Errorf("--%s=%s, want contract's default %v", tc.flag, f[tc.flag], tc.want)
		}
	}
	if f["heartbeat"] != contract.HeartbeatProgress || f["liveness"] != "true" {
		t.Errorf("--heartbeat=%s --liveness=%s, want %s and true", f["heartbeat"], f["liveness"], contract.HeartbeatProgress)
	}
	if _, ok := f["agent-image-pull-policy"]; ok {
		t.Error("--agent-image-pull-policy rendered without agent.image.pullPolicy")
	}

	if p := dep.Spec.Template.Spec; p.HostNetwork || p.DNSPolicy != "" || f["listen"] != ":8443" || f["metrics-listen"] != ":8080" {
		t.Errorf("hostNetwork %v dnsPolicy %q --listen=%s --metrics-listen=%s, want the pod network and ports 8443 and 8080",
			p.HostNetwork, p.DNSPolicy, f["listen"], f["metrics-listen"])
	}

	// GOMEMLIMIT is left to the webhook: 90% of the limit the downward API gives.
	mem := env(c)["JOBCHECK_MEMORY_LIMIT"]
	if mem.ValueFrom == nil || mem.ValueFrom.ResourceFieldRef == nil || mem.ValueFrom.ResourceFieldRef.Resource != "limits.memory" ||
		mem.ValueFrom.ResourceFieldRef.ContainerName != c.Name {
		t.Errorf("JOBCHECK_MEMORY_LIMIT = %+v, want the container's limits.memory", mem)
	}
	if _, ok := env(c)["GOMEMLIMIT"]; ok {
		t.Error("GOMEMLIMIT is set: it would equal the limit, leaving the runtime no headroom")
	}
	if ns := env(c)["POD_NAMESPACE"]; ns.ValueFrom == nil || ns.ValueFrom.FieldRef == nil || ns.ValueFrom.FieldRef.FieldPath != "metadata.namespace" {
		t.Errorf("POD_NAMESPACE = %+v, want the downward API's metadata.namespace", ns)
	}

	var pdb policyv1.PodDisruptionBudget
	objs.decode(t, "PodDisruptionBudget", releaseNamespace, "jobcheck-webhook", &pdb)
	if *dep.Spec.Replicas != 2 || pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() != 1 {
		t.Errorf("replicas %d, PDB minAvailable %v: want 2 and 1", *dep.Spec.Replicas, pdb.Spec.MinAvailable)
	}
	sel, _ := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
	if !sel.Matches(labels.Set(dep.Spec.Template.Labels)) {
		t.Error("the PodDisruptionBudget does not select the webhook pods")
	}
}

// TestVariants renders each variant and checks what its values change.
func TestVariants(t *testing.T) {
	checks := map[string]func(t *testing.T, objs objects){
		"default": func(t *testing.T, objs objects) {}, // TestDefaults
		"cert-manager": func(t *testing.T, objs objects) {
			_, c := objs.deployment(t)
			f := flags(c)
			if _, ok := f["cert-secret"]; ok {
				t.Error("--cert-secret with cert-manager")
			}
			dep, _ := objs.deployment(t)
			mounted := ""
			for _, v := range dep.Spec.Template.Spec.Volumes {
				for _, m := range c.VolumeMounts {
					if v.Secret != nil && v.Name == m.Name {
						mounted = v.Secret.SecretName + "@" + m.MountPath
					}
				}
			}
			var serving cmapi.Certificate
			objs.decode(t, "Certificate", releaseNamespace, "jobcheck-webhook", &serving)
			if mounted != serving.Spec.SecretName+"@/tls" || f["tls-cert-file"] != "/tls/tls.crt" || f["tls-key-file"] != "/tls/tls.key" {
				t.Errorf("mounted %s, --tls-cert-file=%s --tls-key-file=%s: want the Certificate's Secret %s at /tls and its files",
					mounted, f["tls-cert-file"], f["tls-key-file"], serving.Spec.SecretName)
			}
			cfg, wh := objs.webhookConfig(t)
			if cfg.Annotations["cert-manager.io/inject-ca-from"] != releaseNamespace+"/"+serving.Name {
				t.Errorf("inject-ca-from = %q, want %s/%s", cfg.Annotations["cert-manager.io/inject-ca-from"], releaseNamespace, serving.Name)
			}
			if host := wh.ClientConfig.Service.Name + "." + wh.ClientConfig.Service.Namespace + ".svc"; !slices.Contains(serving.Spec.DNSNames, host) {
				t.Errorf("certificate for %v, the API server dials %s", serving.Spec.DNSNames, host)
			}
			// the private CA chain: serving <- CA Issuer <- CA Certificate <- self-signed Issuer
			var caIssuer, root cmapi.Issuer
			objs.decode(t, "Issuer", releaseNamespace, serving.Spec.IssuerRef.Name, &caIssuer)
			var ca cmapi.Certificate
			objs.decode(t, "Certificate", releaseNamespace, "jobcheck-ca", &ca)
			if caIssuer.Spec.CA == nil || caIssuer.Spec.CA.SecretName != ca.Spec.SecretName || !ca.Spec.IsCA {
				t.Error("the serving certificate's Issuer is not a CA Issuer of the isCA Certificate")
			}
			objs.decode(t, "Issuer", releaseNamespace, ca.Spec.IssuerRef.Name, &root)
			if root.Spec.SelfSigned == nil {
				t.Error("the CA certificate's Issuer is not self-signed")
			}
			if got := objs.kinds("Secret"); len(got) > 0 {
				t.Errorf("Secrets %v rendered: cert-manager writes its own", got)
			}
			cluster, namespaced := objs.rules(t)
			if grants(cluster, "admissionregistration.k8s.io", "mutatingwebhookconfigurations", "patch", "jobcheck") ||
				grants(namespaced, "", "secrets", "update", "jobcheck-webhook-certs") {
				t.Error("with cert-manager the webhook needs no write on its configuration or Secret")
			}
		},
		"cert-manager-issuer": func(t *testing.T, objs objects) {
			if got := objs.kinds("Issuer"); len(got) > 0 {
				t.Errorf("Issuers %v rendered with certManager.issuerRef set", got)
			}
			var serving cmapi.Certificate
			objs.decode(t, "Certificate", releaseNamespace, "jobcheck-webhook", &serving)
			if r := serving.Spec.IssuerRef; r.Kind != "ClusterIssuer" || r.Name != "internal-ca" || r.Group != "cert-manager.io" {
				t.Errorf("issuerRef = %+v, want the ClusterIssuer internal-ca", r)
			}
		},
		"service-monitor": func(t *testing.T, objs objects) {
			var sm struct {
				Metadata metav1.ObjectMeta `json:"metadata"`
				Spec     struct {
					NamespaceSelector struct {
						MatchNames []string `json:"matchNames"`
					} `json:"namespaceSelector"`
					Selector  metav1.LabelSelector `json:"selector"`
					Endpoints []struct {
						Port        string `json:"port"`
						Path        string `json:"path"`
						HonorLabels bool   `json:"honorLabels"`
					} `json:"endpoints"`
				} `json:"spec"`
			}
			if err := sigsyaml.Unmarshal(objs[key("ServiceMonitor", releaseNamespace, "jobcheck-webhook")], &sm); err != nil {
				t.Fatal(err)
			}
			var svc corev1.Service
			objs.decode(t, "Service", releaseNamespace, "jobcheck-webhook", &svc)
			sel, _ := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
			if sm.Metadata.Labels["release"] != "kube-prometheus-stack" || !sel.Matches(labels.Set(svc.Labels)) ||
				!slices.Equal(sm.Spec.NamespaceSelector.MatchNames, []string{releaseNamespace}) ||
				len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "metrics" || sm.Spec.Endpoints[0].Path != "/metrics" ||
				!sm.Spec.Endpoints[0].HonorLabels {
				t.Errorf("ServiceMonitor %+v: want the release label, the webhook Service's metrics port with honorLabels (the workloads' namespace and job labels)", sm)
			}
		},
		"prometheus-rule": func(t *testing.T, objs objects) {
			var pr struct {
				Metadata metav1.ObjectMeta `json:"metadata"`
				Spec     any               `json:"spec"`
			}
			if err := sigsyaml.Unmarshal(objs[key("PrometheusRule", "monitoring", "jobcheck")], &pr); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(filepath.Join(root, "manifests/prometheus/rules.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			var rules any
			if err := sigsyaml.Unmarshal(data, &rules); err != nil {
				t.Fatal(err)
			}
			if !equality.Semantic.DeepEqual(rules, pr.Spec) {
				t.Error("the PrometheusRule's spec is not manifests/prometheus/rules.yaml")
			}
			if pr.Metadata.Labels["release"] != "kube-prometheus-stack" {
				t.Errorf("labels %v, want prometheusRule.labels", pr.Metadata.Labels)
			}
		},
		"dashboard": func(t *testing.T, objs objects) {
			var cm corev1.ConfigMap
			objs.decode(t, "ConfigMap", releaseNamespace, "jobcheck-dashboard-jobs", &cm)
			if cm.Labels["grafana_dashboard"] != "1" {
				t.Errorf("labels %v, want grafana_dashboard: \"1\" (the Grafana sidecar's)", cm.Labels)
			}
			var d struct {
				Title string `json:"title"`
			}
			if err := json.Unmarshal([]byte(cm.Data["jobcheck-jobs.json"]), &d); err != nil || d.Title != "jobcheck / jobs" {
				t.Errorf("jobcheck-jobs.json: title %q, %v; want the dashboard \"jobcheck / jobs\"", d.Title, err)
			}
		},
		"network-policy": func(t *testing.T, objs objects) {
			for _, ns := range []string{"batch", "reports"} {
				var np networkingv1.NetworkPolicy
				objs.decode(t, "NetworkPolicy", ns, "jobcheck-pushgateway-egress", &np)
				sel, _ := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
				if !sel.Matches(labels.Set{contract.LabelInjected: "true"}) || sel.Matches(labels.Set{}) {
					t.Errorf("%s: podSelector %v, want exactly the pods labelled %s=true", ns, np.Spec.PodSelector, contract.LabelInjected)
				}
				if !slices.Equal(np.Spec.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}) || len(np.Spec.Egress) != 2 {
					t.Fatalf("%s: %+v, want two egress rules (Pushgateway, DNS) and no ingress", ns, np.Spec)
				}
				pgw, dns := np.Spec.Egress[0], np.Spec.Egress[1]
				if pgw.Ports[0].Port.IntValue() != 9091 || *pgw.Ports[0].Protocol != corev1.ProtocolTCP ||
					pgw.To[0].PodSelector.MatchLabels["app.kubernetes.io/name"] != "prometheus-pushgateway" ||
					pgw.To[0].NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] != "monitoring" {
					t.Errorf("%s: Pushgateway rule %+v", ns, pgw)
				}
				if len(dns.Ports) != 2 || dns.Ports[0].Port.IntValue() != 53 || dns.To[0].PodSelector.MatchLabels["k8s-app"] != "kube-dns" {
					t.Errorf("%s: DNS rule %+v", ns, dns)
				}
			}
		},
		"no-pdb": func(t *testing.T, objs objects) {
			if got := objs.kinds("PodDisruptionBudget"); len(got) > 0 {
				t.Errorf("PodDisruptionBudget %v rendered with podDisruptionBudget.enabled=false", got)
			}
		},
		"image-pull-secrets": func(t *testing.T, objs objects) {
			dep, c := objs.deployment(t)
			f := flags(c)
			if c.Image != "registry.example.com/platform/jobcheck-webhook:v9.9.9" || c.ImagePullPolicy != corev1.PullAlways {
				t.Errorf("image %s pull %s", c.Image, c.ImagePullPolicy)
			}
			if want := "registry.example.com/platform/jobcheck-agent:" + theChart(t).Metadata.AppVersion + "@sha256:" + sha256Zero; env(c)["AGENT_IMAGE"].Value != want {
				t.Errorf("AGENT_IMAGE = %s, want %s", env(c)["AGENT_IMAGE"].Value, want)
			}
			if !slices.Equal(dep.Spec.Template.Spec.ImagePullSecrets, []corev1.LocalObjectReference{{Name: "regcred"}}) {
				t.Errorf("pod imagePullSecrets %v", dep.Spec.Template.Spec.ImagePullSecrets)
			}
			if f["agent-image-pull-secrets"] != "regcred,mirror" || f["agent-image-pull-policy"] != "Always" {
				t.Errorf("--agent-image-pull-secrets=%s --agent-image-pull-policy=%s", f["agent-image-pull-secrets"], f["agent-image-pull-policy"])
			}
			cluster, _ := objs.rules(t)
			if grants(cluster, "", "secrets", "get", "any") || grants(cluster, "", "serviceaccounts", "get", "any") {
				t.Error("rbac.imagePullSecrets=false still grants reading Secrets and ServiceAccounts")
			}
		},
		"run-watcher": func(t *testing.T, objs objects) {
			_, c := objs.deployment(t)
			f := flags(c)
			if f["run-watcher"] != "true" || f["leader-elect-resource-name"] != "batch-runs" || f["run-watcher-pushgateways"] != "http://pushgateway.team-b:9091" {
				t.Errorf("--run-watcher=%s --leader-elect-resource-name=%s --run-watcher-pushgateways=%s", f["run-watcher"], f["leader-elect-resource-name"], f["run-watcher-pushgateways"])
			}
			_, ns := objs.rules(t)
			// The Role grants the Lease the webhook is told to use, and no other.
			if !grants(ns, "coordination.k8s.io", "leases", "update", "batch-runs") || grants(ns, "coordination.k8s.io", "leases", "update", "jobcheck-run-watcher") {
				t.Errorf("Role rules %+v: want update on the Lease batch-runs only", ns)
			}
		},
		"host-network": func(t *testing.T, objs objects) {
			dep, c := objs.deployment(t)
			p := dep.Spec.Template.Spec
			if !p.HostNetwork || p.DNSPolicy != corev1.DNSClusterFirstWithHostNet {
				t.Errorf("hostNetwork %v dnsPolicy %q, want true and ClusterFirstWithHostNet (the cluster DNS still resolves)", p.HostNetwork, p.DNSPolicy)
			}
			f := flags(c)
			if f["listen"] != ":9443" || f["metrics-listen"] != ":9080" {
				t.Errorf("--listen=%s --metrics-listen=%s, want :9443 and :9080", f["listen"], f["metrics-listen"])
			}
			ports := map[string]int32{}
			for _, cp := range c.Ports {
				ports[cp.Name] = cp.ContainerPort
			}
			if ports["webhook"] != 9443 || ports["metrics"] != 9080 {
				t.Errorf("container ports %v, want webhook 9443 and metrics 9080 (the Service and the probes name them)", ports)
			}
			e := env(c)
			if e["KUBERNETES_SERVICE_HOST"].Value != "127.0.0.1" || e["KUBERNETES_SERVICE_PORT"].Value != "6443" {
				t.Errorf("env %v, want extraEnv's KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT", c.Env)
			}
			if c.Env[len(c.Env)-1].Name != "KUBERNETES_SERVICE_PORT" || e["AGENT_IMAGE"].Value == "" {
				t.Errorf("env %v: want the chart's variables, then extraEnv's in order", c.Env)
			}
			var svc corev1.Service
			objs.decode(t, "Service", releaseNamespace, "jobcheck-webhook", &svc)
			for _, sp := range svc.Spec.Ports {
				if _, ok := ports[sp.TargetPort.String()]; !ok {
					t.Errorf("Service port %s targets %s, which the container does not name", sp.Name, sp.TargetPort.String())
				}
			}
			if got := objs.kinds("PodDisruptionBudget"); len(got) > 0 {
				t.Errorf("PodDisruptionBudget %v rendered with podDisruptionBudget.enabled=false", got)
			}
		},
		"scheduling": func(t *testing.T, objs objects) {
			dep, c := objs.deployment(t)
			p := dep.Spec.Template.Spec
			if *dep.Spec.Replicas != 3 || p.PriorityClassName != "system-cluster-critical" || p.NodeSelector["kubernetes.io/os"] != "linux" ||
				len(p.Tolerations) != 1 || p.Affinity == nil || p.Affinity.NodeAffinity == nil ||
				dep.Spec.Template.Annotations["example.com/scrape"] != "false" || dep.Spec.Template.Labels["team"] != "platform" {
				t.Errorf("pod spec does not carry the values: %+v", p)
			}
			if len(p.TopologySpreadConstraints) != 1 || p.TopologySpreadConstraints[0].TopologyKey != "topology.kubernetes.io/zone" {
				t.Fatalf("topologySpreadConstraints %+v", p.TopologySpreadConstraints)
			}
			sel, _ := metav1.LabelSelectorAsSelector(p.TopologySpreadConstraints[0].LabelSelector)
			if !sel.Matches(labels.Set(dep.Spec.Template.Labels)) {
				t.Error("a constraint without labelSelector did not get the webhook pods'")
			}
			if c.Resources.Limits.Memory().String() != "512Mi" || c.Resources.Requests.Cpu().String() != "100m" {
				t.Errorf("resources %+v", c.Resources)
			}
			var pdb policyv1.PodDisruptionBudget
			objs.decode(t, "PodDisruptionBudget", releaseNamespace, "jobcheck-webhook", &pdb)
			if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 || pdb.Spec.MinAvailable != nil {
				t.Errorf("PDB %+v, want maxUnavailable 1 alone", pdb.Spec)
			}
		},
		"webhook-settings": func(t *testing.T, objs objects) {
			_, wh := objs.webhookConfig(t)
			if *wh.FailurePolicy != admissionregistrationv1.Fail || *wh.TimeoutSeconds != 10 || *wh.ReinvocationPolicy != admissionregistrationv1.NeverReinvocationPolicy {
				t.Errorf("failurePolicy %s timeoutSeconds %d reinvocationPolicy %s", *wh.FailurePolicy, *wh.TimeoutSeconds, *wh.ReinvocationPolicy)
			}
			ns, err := metav1.LabelSelectorAsSelector(wh.NamespaceSelector)
			if err != nil {
				t.Fatalf("namespaceSelector: %v", err)
			}
			for _, tc := range []struct {
				labels labels.Set
				want   bool
			}{
				{labels.Set{"kubernetes.io/metadata.name": "team-a", "team": "a"}, true},
				{labels.Set{"kubernetes.io/metadata.name": "team-a"}, false},
				{labels.Set{"kubernetes.io/metadata.name": "legacy", "team": "a"}, false},
				{labels.Set{"kubernetes.io/metadata.name": releaseNamespace, "team": "a"}, false},
				{labels.Set{"kubernetes.io/metadata.name": "kube-public", "team": "a"}, true}, // no longer excluded
			} {
				if ns.Matches(tc.labels) != tc.want {
					t.Errorf("namespace %v selected = %v, want %v", tc.labels, !tc.want, tc.want)
				}
			}
			if wh.ObjectSelector == nil || wh.ObjectSelector.MatchLabels["monitored"] != "yes" {
				t.Errorf("objectSelector %v", wh.ObjectSelector)
			}
			_, c := objs.deployment(t)
			f := flags(c)
			for name, want := range map[string]string{
				"pushgateway": "http://pushgateway.observability.svc:9091", "max-age": "1h", "grace": "15m",
				"heartbeat": contract.HeartbeatFile, "liveness": "false", "lookup-timeout": "2s",
				"cert-validity": "720h", "cert-ca-validity": "43800h", "cert-check-interval": "30s",
			} {
				if f[name] != want {
					t.Errorf("--%s=%s, want %s", name, f[name], want)
				}
			}
		},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			check, ok := checks[v.name]
			if !ok {
				t.Fatalf("variant %s has no check", v.name)
			}
			objs := renderObjects(t, v.values)
			for _, ns := range v.namespaces {
				found := false
				for k := range objs {
					found = found || strings.Contains(k, " "+ns+"/")
				}
				if !found {
					t.Errorf("variant %s names namespace %s but renders nothing there", v.name, ns)
				}
			}
			check(t, objs)
		})
	}
}
