#!/usr/bin/env bash
# test-rules.sh checks jobcheck's Prometheus alert rules (manifests/prometheus):
# promtool lints the rules file and the scrape configs, runs the rules' unit
# tests (rules_test.yaml: every alert firing and not firing), and the Go tests
# check the PrometheusRule holds the same rules and every alert is documented.
# Installs promtool (Debian package prometheus) when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v promtool >/dev/null || hack/deps.sh all
dir=manifests/prometheus
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

promtool check rules "$dir/rules.yaml"

# The scrape snippets are lists of scrape_configs entries: check each inside a
# minimal prometheus.yml that also loads the rules.
config() {
  { echo "rule_files: [\"$PWD/$dir/rules.yaml\"]"; echo "scrape_configs:"; sed 's/^/  /' "$1"; } >"$tmp/prometheus.yml"
}
config "$dir/scrape-config.yaml"
promtool check config "$tmp/prometheus.yml"
config "$dir/scrape-config-webhook.yaml"
if ! out=$(promtool check config "$tmp/prometheus.yml" 2>&1); then
  if grep -q 'field kubernetes_sd_configs not found' <<<"$out"; then
    # Debian builds Prometheus without Kubernetes service discovery.
    echo "test-rules.sh: this promtool has no kubernetes_sd_configs; not checking scrape-config-webhook.yaml" >&2
  else
    echo "$out" >&2
    exit 1
  fi
fi

promtool test rules "$dir/rules_test.yaml"
go test -count=1 -run 'TestPrometheusRuleIsTheRulesFile|TestEveryAlertIsTestedAndDocumented|TestScrapeConfigsMatchTheRules' ./manifests
