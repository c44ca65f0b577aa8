#!/usr/bin/env bash
# deps.sh installs the Debian packages that the tests, benchmarks and demo run against,
# when they are missing. It is idempotent and quiet when everything is there.
#
#   hack/deps.sh            everything (agent tests, real cluster, rules, benchmarks)
#   hack/deps.sh agent      only what the agent's tests need (a real Pushgateway)
set -euo pipefail

agent_pkgs=(prometheus-pushgateway)
# prometheus-alertmanager: the demo routes the shipped alerts to it.
all_pkgs=(prometheus-pushgateway prometheus prometheus-alertmanager etcd-server containerd runc containernetworking-plugins
  busybox-static iproute2 iptables hyperfine procps curl ca-certificates)

case "${1:-all}" in
  agent) want=("${agent_pkgs[@]}") ;;
  all) want=("${all_pkgs[@]}") ;;
  *) echo "deps.sh: unknown set ${1} (want: agent, all)" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Packaged services must not start on install: the tests start their own, on their own ports.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
  $sudo chmod 0755 /usr/sbin/policy-rc.d
  trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
fi
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
