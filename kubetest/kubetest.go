// Package kubetest runs a real etcd and kube-apiserver on loopback for
// tests: no controllers, no kubelet, so every Job and pod status is what the
// test writes. The kube-apiserver is the one hack/e2e.sh builds into
// test/e2e/bin (or $KUBE_APISERVER); etcd is /usr/bin/etcd (or $ETCD).
package kubetest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
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
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/rest"
)

// Server is a running etcd and kube-apiserver.
type Server struct {
	// Config reaches the API server as a member of system:masters.
	Config *rest.Config
	// Kubeconfig is a kubeconfig file for the same user.
	Kubeconfig string
	dir        string
	host       string
	tokens     map[string]string // by user
	procs      []*exec.Cmd
}

// User returns a configuration that reaches the API server as user ("admin",
// a member of system:masters, or one of the users given to Start).
func (s *Server) User(user string) *rest.Config {
	return &rest.Config{Host: s.host, BearerToken: s.tokens[user],
		TLSClientConfig: rest.TLSClientConfig{Insecure: true}, // its self-signed certificate, on loopback
		QPS:             200, Burst: 400}
}

// Binaries returns the kube-apiserver and etcd the tests run, or an error
// saying how to get them.
func Binaries() (apiserver, etcd string, err error) {
	apiserver = os.Getenv("KUBE_APISERVER")
	if apiserver == "" {
		root, err := moduleRoot()
		if err != nil {
			return "", "", err
		}
		apiserver = filepath.Join(root, "test", "e2e", "bin", "kube-apiserver")
	}
	etcd = os.Getenv("ETCD")
	if etcd == "" {
		etcd = "/usr/bin/etcd"
	}
	for _, b := range []string{apiserver, etcd} {
		if _, err := os.Stat(b); err != nil {
			return "", "", fmt.Errorf("%s missing (hack/e2e.sh builds kube-apiserver, hack/deps.sh installs etcd): %w", b, err)
		}
	}
	return apiserver, etcd, nil
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Start runs etcd and kube-apiserver with their data and logs in dir and
// returns once the API server is ready (at most two minutes).
//
// users are more users (each with a token of its own, in no group) the test
// can act as with User, to check what RBAC grants them.
func Start(dir string, users ...string) (*Server, error) {
	apiserver, etcd, err := Binaries()
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir}
	ok := false
	defer func() {
		if !ok {
			s.Stop()
		}
	}()
	pki := filepath.Join(dir, "pki")
	if err := os.MkdirAll(pki, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", pki, err)
	}
	if err := serviceAccountKey(filepath.Join(pki, "sa.key"), filepath.Join(pki, "sa.pub")); err != nil {
		return nil, err
	}
	s.tokens = map[string]string{"admin": randomHex(16)}
	lines := s.tokens["admin"] + `,admin,admin,"system:masters"` + "\n"
	for _, u := range users {
		s.tokens[u] = randomHex(16)
		lines += s.tokens[u] + "," + u + "," + u + "\n"
	}
	if err := os.WriteFile(filepath.Join(pki, "tokens.csv"), []byte(lines), 0o600); err != nil {
		return nil, fmt.Errorf("write token file: %w", err)
	}

	etcdURL := "http://" + freeAddr()
	peerURL := "http://" + freeAddr()
	if err := s.run(dir, "etcd", etcd, "--name=kubetest", "--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+etcdURL, "--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=kubetest="+peerURL, "--log-level=warn"); err != nil {
		return nil, err
	}
	if err := waitHTTP(http.DefaultClient, etcdURL+"/health", 60*time.Second); err != nil {
		return nil, s.withLog("etcd", err)
	}
	port := freePort()
	if err := s.run(dir, "kube-apiserver", apiserver,
		"--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port="+strconv.Itoa(port),
		// Its own self-signed serving certificate (in --cert-dir): the tests reach
		// it on loopback only.
		"--cert-dir="+filepath.Join(pki, "apiserver"),
		"--token-auth-file="+filepath.Join(pki, "tokens.csv"),
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+filepath.Join(pki, "sa.pub"),
		"--service-account-signing-key-file="+filepath.Join(pki, "sa.key"),
		// No controller manager makes service accounts: pods are created without one.
		"--disable-admission-plugins=ServiceAccount",
		"--service-cluster-ip-range=10.0.0.0/24",
		"--endpoint-reconciler-type=none",
		"--profiling=false"); err != nil {
		return nil, err
	}
	host := "https://127.0.0.1:" + strconv.Itoa(port)
	s.host = host
	s.Config = s.User("admin")
	hc, err := rest.HTTPClientFor(s.Config)
	if err != nil {
		return nil, err
	}
	if err := waitHTTP(hc, host+"/readyz", 120*time.Second); err != nil {
		return nil, s.withLog("kube-apiserver", err)
	}
	s.Kubeconfig = filepath.Join(dir, "kubeconfig")
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: kubetest, cluster: {server: %q, insecure-skip-tls-verify: true}}]
users: [{name: admin, user: {token: %q}}]
contexts: [{name: kubetest, context: {cluster: kubetest, user: admin}}]
current-context: kubetest
`, host, s.tokens["admin"])
	if err := os.WriteFile(s.Kubeconfig, []byte(kc), 0o600); err != nil {
		return nil, fmt.Errorf("write kubeconfig: %w", err)
	}
	ok = true
	return s, nil
}

// Stop kills kube-apiserver, then etcd, and waits for both.
func (s *Server) Stop() {
	for i := len(s.procs) - 1; i >= 0; i-- {
		p := s.procs[i]
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
	s.procs = nil
}

func (s *Server) run(dir, name string, argv ...string) error {
	f, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	defer f.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the test
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	s.procs = append(s.procs, cmd)
	return nil
}

func (s *Server) withLog(name string, err error) error {
	b, _ := os.ReadFile(filepath.Join(s.dir, name+".log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return fmt.Errorf("%s: %w\n--- tail of %s.log ---\n%s", name, err, name, b)
}

// waitHTTP polls url until it answers 200; limit only guards against a hang.
func waitHTTP(hc *http.Client, url string, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	var last error
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s: %s", url, resp.Status)
		}
		last = err
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("not ready after %v: %v", limit, last)
}

func serviceAccountKey(privPath, pubPath string) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("service account key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("service account key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return fmt.Errorf("service account key: %w", err)
	}
	if err := os.WriteFile(privPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o600)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("no free port on 127.0.0.1: %v", err))
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func freeAddr() string { return "127.0.0.1:" + strconv.Itoa(freePort()) }

// RequireEnv names the environment variable that makes a missing etcd or
// kube-apiserver fail the tests that need them instead of skipping them:
// `make test` sets it, so that CI never passes without running them.
const RequireEnv = "JOBCHECK_REQUIRE_APISERVER"

// Unavailable ends a test that needs the API server when it could not be
// had: a failure where RequireEnv is set, else a skip.
func Unavailable(t testing.TB, err error) {
	t.Helper()
	if os.Getenv(RequireEnv) != "" {
		t.Fatalf("no kube-apiserver (%s is set): %v", RequireEnv, err)
	}
	t.Skipf("no kube-apiserver (hack/e2e.sh build makes one; set %s to fail instead): %v", RequireEnv, err)
}
