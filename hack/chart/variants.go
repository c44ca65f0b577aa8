package main

// A variant is one set of chart values: the shipped defaults, or one toggle
// of them. The tests render each and check what it changes; `render` writes
// each to a file for `kubectl apply --dry-run=server` against a real API
// server (the end-to-end suite).
type variant struct {
	name   string
	about  string
	values map[string]any // over values.yaml
	// namespaces the variant puts objects in besides the release's, which a
	// server-side dry run needs to exist.
	namespaces []string
}

// withNamespace is v's values with createNamespace on: the static
// manifests carry their Namespace, as `kubectl apply -f` needs.
func withNamespace(values map[string]any) map[string]any {
	out := map[string]any{"createNamespace": true}
	for k, v := range values {
		out[k] = v
	}
	return out
}

var variants = []variant{
	{name: "default", about: "values.yaml as shipped: the webhook keeps its own certificate"},
	{name: "cert-manager", about: "cert-manager issues the certificate from a private CA",
		values: map[string]any{"certManager": map[string]any{"enabled": true}}},
	{name: "cert-manager-issuer", about: "cert-manager issues the certificate from the cluster's own issuer",
		values: map[string]any{"certManager": map[string]any{"enabled": true,
			"issuerRef": map[string]any{"group": "cert-manager.io", "kind": "ClusterIssuer", "name": "internal-ca"}}}},
	{name: "service-monitor", about: "a ServiceMonitor for kube-prometheus-stack",
		values: map[string]any{"serviceMonitor": map[string]any{"enabled": true, "labels": map[string]any{"release": "kube-prometheus-stack"}}}},
	{name: "prometheus-rule", about: "the alert rules as a PrometheusRule in the monitoring namespace",
		values:     map[string]any{"prometheusRule": map[string]any{"enabled": true, "namespace": "monitoring", "labels": map[string]any{"release": "kube-prometheus-stack"}}},
		namespaces: []string{"monitoring"}},
	{name: "dashboard", about: "the Grafana dashboard for the Grafana sidecar",
		values: map[string]any{"dashboard": map[string]any{"enabled": true}}},
	{name: "network-policy", about: "egress to the Pushgateway from two job namespaces",
		values:     map[string]any{"networkPolicy": map[string]any{"jobNamespaces": []any{"batch", "reports"}}},
		namespaces: []string{"batch", "reports"}},
	{name: "no-pdb", about: "one replica, no PodDisruptionBudget",
		values: map[string]any{"replicaCount": 1, "podDisruptionBudget": map[string]any{"enabled": false}}},
	{name: "image-pull-secrets", about: "images from a private registry, with pull secrets, without reading the cluster's Secrets",
		values: map[string]any{
			"image":            map[string]any{"registry": "registry.example.com", "repository": "platform/jobcheck-webhook", "tag": "v9.9.9", "pullPolicy": "Always"},
			"imagePullSecrets": []any{map[string]any{"name": "regcred"}},
			"agent": map[string]any{
				"image":            map[string]any{"registry": "registry.example.com", "repository": "platform/jobcheck-agent", "digest": "sha256:" + sha256Zero, "pullPolicy": "Always"},
				"imagePullSecrets": []any{map[string]any{"name": "regcred"}, map[string]any{"name": "mirror"}},
			},
			"rbac": map[string]any{"imagePullSecrets": false},
		}},
	{name: "host-network", about: "the webhook on the node's network, its own ports, the API server's address in its environment",
		values: map[string]any{
			"hostNetwork":         true,
			"replicaCount":        1,
			"podDisruptionBudget": map[string]any{"enabled": false},
			"containerPorts":      map[string]any{"webhook": 9443, "metrics": 9080},
			"extraEnv": []any{
				map[string]any{"name": "KUBERNETES_SERVICE_HOST", "value": "127.0.0.1"},
				map[string]any{"name": "KUBERNETES_SERVICE_PORT", "value": "6443"},
			},
		}},
	{name: "run-watcher", about: "the run watcher's Lease renamed, a second Pushgateway allowed",
		values: map[string]any{"runWatcher": map[string]any{"leaseName": "batch-runs", "pushgateways": []any{"http://pushgateway.team-b:9091"}}}},
	{name: "scheduling", about: "every scheduling and pod setting",
		values: map[string]any{
			"replicaCount":              3,
			"podDisruptionBudget":       map[string]any{"maxUnavailable": 1},
			"resources":                 map[string]any{"requests": map[string]any{"cpu": "100m", "memory": "128Mi"}, "limits": map[string]any{"memory": "512Mi"}},
			"affinity":                  map[string]any{"nodeAffinity": map[string]any{"requiredDuringSchedulingIgnoredDuringExecution": map[string]any{"nodeSelectorTerms": []any{map[string]any{"matchExpressions": []any{map[string]any{"key": "pool", "operator": "In", "values": []any{"system"}}}}}}}},
			"tolerations":               []any{map[string]any{"key": "dedicated", "operator": "Equal", "value": "system", "effect": "NoSchedule"}},
			"nodeSelector":              map[string]any{"kubernetes.io/os": "linux"},
			"topologySpreadConstraints": []any{map[string]any{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule"}},
			"priorityClassName":         "system-cluster-critical",
			"podAnnotations":            map[string]any{"example.com/scrape": "false"},
			"podLabels":                 map[string]any{"team": "platform"},
		}},
	{name: "webhook-settings", about: "every webhook configuration setting and injection default",
		values: map[string]any{
			"webhook": map[string]any{
				"failurePolicy": "Fail", "timeoutSeconds": 10, "reinvocationPolicy": "Never",
				"namespaceSelector":  map[string]any{"matchLabels": nil, "matchExpressions": []any{map[string]any{"key": "team", "operator": "Exists"}}},
				"objectSelector":     map[string]any{"matchLabels": map[string]any{"monitored": "yes"}},
				"excludedNamespaces": []any{"kube-system", "legacy"},
			},
			"config": map[string]any{"pushgateway": "http://pushgateway.observability.svc:9091", "maxAge": "1h", "grace": "15m",
				"heartbeat": "file", "liveness": false, "extraArgs": []any{"--lookup-timeout=2s"}},
			"selfSignedCert": map[string]any{"validity": "720h", "caValidity": "43800h", "checkInterval": "30s"},
		}},
}

const sha256Zero = "0000000000000000000000000000000000000000000000000000000000000000"
