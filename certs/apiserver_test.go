package certs

import (
	"os"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/jobcheck/jobcheck/kubetest"
)

// The Manager's tests run against a real kube-apiserver (and etcd), started
// once for the package: the Secret's optimistic concurrency, the strategic
// merge patch of the caBundle and RBAC are the API server's, not a fake's.
// kube-apiserver is the one the end-to-end harness builds into test/e2e/bin
// (hack/e2e.sh build), or $KUBE_APISERVER; etcd is the Debian package's.

var api struct {
	once   sync.Once
	server *kubetest.Server
	err    error
	dir    string
}

func TestMain(m *testing.M) {
	code := m.Run()
	if api.server != nil {
		api.server.Stop()
	}
	if api.dir != "" {
		os.RemoveAll(api.dir)
	}
	os.Exit(code)
}

// apiServer returns an admin client configuration of the package's API
// server, starting it on first use; the test is skipped when the binaries
// are not on this machine.
func apiServer(t *testing.T) *rest.Config {
	t.Helper()
	if _, _, err := kubetest.Binaries(); err != nil {
		kubetest.Unavailable(t, err)
	}
	api.once.Do(func() {
		if api.dir, api.err = os.MkdirTemp("", "jc-certs-api-"); api.err == nil {
			api.server, api.err = kubetest.Start(api.dir)
		}
	})
	if api.err != nil {
		t.Fatalf("start kube-apiserver: %v", api.err)
	}
	return rest.CopyConfig(api.server.Config)
}

func clientFor(t *testing.T, c *rest.Config) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(c)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// waitFor polls cond until it holds or 30s pass (a bound on waiting, not a
// timing assertion).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
