package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// The Manager's tests run against a real kube-apiserver (and etcd), started
// once for the package: the Secret's optimistic concurrency, the strategic
// merge patch of the caBundle and RBAC are the API server's, not a fake's.
// kube-apiserver is the one the end-to-end harness builds into test/e2e/bin
// (hack/e2e.sh build), or $KUBE_APISERVER; etcd is the Debian package's.

var api struct {
	once   sync.Once
	config *rest.Config // admin (system:masters)
	err    error
	procs  []*exec.Cmd
	dir    string
}

func TestMain(m *testing.M) {
	code := m.Run()
	stopAPIServer()
	os.Exit(code)
}

// apiServer returns an admin client configuration of the package's API
// server, starting it on first use; the test is skipped when the binaries
// are not on this machine.
func apiServer(t *testing.T) *rest.Config {
	t.Helper()
	bin := os.Getenv("KUBE_APISERVER")
	if bin == "" {
		bin = filepath.Join("..", "test", "e2e", "bin", "kube-apiserver")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("no kube-apiserver at %s (hack/e2e.sh build, or set KUBE_APISERVER)", bin)
	}
	etcd, err := exec.LookPath("etcd")
	if err != nil {
		t.Skip("no etcd on PATH (hack/deps.sh installs it)")
	}
	api.once.Do(func() { api.config, api.err = startAPIServer(bin, etcd) })
	if api.err != nil {
		t.Fatalf("start kube-apiserver: %v", api.err)
	}
	return rest.CopyConfig(api.config)
}

func clientFor(t *testing.T, c *rest.Config) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(c)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func startAPIServer(apiserver, etcd string) (*rest.Config, error) {
	dir, err := os.MkdirTemp("", "jc-certs-api-")
	if err != nil {
		return nil, err
	}
	api.dir = dir
	token := randomToken()
	if err := os.WriteFile(filepath.Join(dir, "tokens.csv"), []byte(token+",admin,admin,\"system:masters\"\n"), 0o600); err != nil {
		return nil, err
	}
	if err := serviceAccountKeys(dir); err != nil {
		return nil, err
	}
	client, peer, port := freePort(), freePort(), freePort()
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(client)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(peer)
	if err := startProc(dir, "etcd", etcd, "--name=certs", "--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+etcdURL, "--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=certs="+peerURL, "--log-level=warn"); err != nil {
		return nil, err
	}
	if err := startProc(dir, "kube-apiserver", apiserver,
		"--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port="+strconv.Itoa(port),
		"--cert-dir="+filepath.Join(dir, "pki"),
		"--token-auth-file="+filepath.Join(dir, "tokens.csv"),
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+filepath.Join(dir, "sa.pub"),
		"--service-account-signing-key-file="+filepath.Join(dir, "sa.key"),
		"--service-cluster-ip-range=10.0.0.0/24",
		"--endpoint-reconciler-type=none",
		"--profiling=false"); err != nil {
		return nil, err
	}
	cfg := &rest.Config{
		Host:            "https://127.0.0.1:" + strconv.Itoa(port),
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{Insecure: true}, // its self-signed certificate, on loopback
		QPS:             100, Burst: 200,
	}
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	hc.Timeout = 2 * time.Second
	deadline := time.Now().Add(2 * time.Minute) // a bound on start-up, not a timing assertion
	for {
		resp, err := hc.Get(cfg.Host + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return cfg, nil
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("kube-apiserver not ready: %v (logs in %s)", err, dir)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func startProc(dir, name, bin string, args ...string) error {
	log, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlives the test binary
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("start %s: %w", name, err)
	}
	api.procs = append(api.procs, cmd)
	return nil
}

// stopAPIServer stops the processes this package started, newest first, by
// their own handles, and removes their state.
func stopAPIServer() {
	for i := len(api.procs) - 1; i >= 0; i-- {
		p := api.procs[i]
		_ = p.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = p.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = p.Process.Kill()
			<-done
		}
	}
	if api.dir != "" {
		os.RemoveAll(api.dir)
	}
}

func serviceAccountKeys(dir string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return err
	}
	return errors.Join(
		os.WriteFile(filepath.Join(dir, "sa.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600),
		os.WriteFile(filepath.Join(dir, "sa.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o600))
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func randomToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
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
