//go:build bench && !e2e

package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/jobcheck/jobcheck/test/e2e/cluster"
)

// startControlPlane runs etcd and kube-apiserver only: the API-server figures
// create pods but never run them, so no scheduler, controller manager,
// containerd or kubelet is needed. The cluster package starts all of them or
// none, so this writes the run's state (server, token, kubeconfig) and loads
// it with cluster.Load, whose Run, StartWebhook and Proc.Stop do the rest.
// Both processes are stopped when the test ends, or on SIGINT/SIGTERM.
// BENCH_RUN_DIR names the run directory (default: a temporary one).
func startControlPlane(ctx context.Context, t *testing.T) (*cluster.Cluster, kubernetes.Interface) {
	t.Helper()
	bin := filepath.Join(benchRoot(t), "test", "e2e", "bin")
	requireFile(t, filepath.Join(bin, "kube-apiserver"), "hack/e2e.sh build")
	dir := os.Getenv("BENCH_RUN_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	pki := filepath.Join(dir, "pki")
	for _, d := range []string{pki, filepath.Join(dir, "etcd"), filepath.Join(dir, "logs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := writeServiceAccountKey(filepath.Join(pki, "sa.key"), filepath.Join(pki, "sa.pub")); err != nil {
		t.Fatal(err)
	}
	tok := make([]byte, 16)
	_, _ = rand.Read(tok)
	token := hex.EncodeToString(tok)
	if err := os.WriteFile(filepath.Join(pki, "tokens.csv"), []byte(token+",admin,admin,\"system:masters\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	port := cluster.FreePort()
	state := cluster.State{Dir: dir, Server: fmt.Sprintf("https://127.0.0.1:%d", port), Token: token,
		Kubeconfig: filepath.Join(dir, "kubeconfig"), Extra: map[string]string{}}
	// The API server serves a certificate it makes itself: this cluster lives
	// only for the benchmark, on loopback.
	kc := clientcmdapi.NewConfig()
	kc.Clusters["bench"] = &clientcmdapi.Cluster{Server: state.Server, InsecureSkipTLSVerify: true}
	kc.AuthInfos["admin"] = &clientcmdapi.AuthInfo{Token: token}
	kc.Contexts["bench"] = &clientcmdapi.Context{Cluster: "bench", AuthInfo: "admin"}
	kc.CurrentContext = "bench"
	if err := clientcmd.WriteToFile(*kc, state.Kubeconfig); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(state)
	if err := os.WriteFile(filepath.Join(dir, "state.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := cluster.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	stop := func(grace time.Duration) {
		for i := len(c.Procs) - 1; i >= 0; i-- {
			if err := c.Procs[i].Stop(grace); err != nil {
				fmt.Fprintf(os.Stderr, "stop: %v\n", err)
			}
		}
	}
	t.Cleanup(func() { stop(15 * time.Second) })
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		stop(3 * time.Second)
		os.Exit(130)
	}()
	t.Cleanup(func() { signal.Stop(sig) })

	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", cluster.FreePort())
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", cluster.FreePort())
	if _, err := c.Run("etcd", []string{"etcd", "--name=bench", "--data-dir=" + filepath.Join(dir, "etcd"),
		"--listen-client-urls=" + etcdURL, "--advertise-client-urls=" + etcdURL,
		"--listen-peer-urls=" + peerURL, "--initial-advertise-peer-urls=" + peerURL,
		"--initial-cluster=bench=" + peerURL, "--log-level=warn", "--quota-backend-bytes=4294967296"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := cluster.WaitHTTP(ctx, "etcd", etcdURL+"/health", nil, 60*time.Second); err != nil {
		t.Fatalf("%v\n%s", err, cluster.LogTail(filepath.Join(dir, "logs", "etcd.log"), 30))
	}
	if _, err := c.Run("kube-apiserver", []string{filepath.Join(bin, "kube-apiserver"),
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + filepath.Join(pki, "apiserver"),
		"--token-auth-file=" + filepath.Join(pki, "tokens.csv"),
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + filepath.Join(pki, "sa.pub"),
		"--service-account-signing-key-file=" + filepath.Join(pki, "sa.key"),
		"--service-cluster-ip-range=10.0.0.0/24",
		"--endpoint-reconciler-type=none",
		"--profiling=false",
	}, nil); err != nil {
		t.Fatal(err)
	}
	// A client of its own, with a rate limit that does not throttle the
	// creation of thousands of objects.
	rc, err := clientcmd.BuildConfigFromFlags("", state.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	rc.QPS, rc.Burst = 5000, 5000
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	if err := cluster.Poll(ctx, "kube-apiserver /readyz", 180*time.Second, func() (bool, error) {
		_, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err == nil, nil
	}); err != nil {
		t.Fatalf("%v\n%s", err, cluster.LogTail(filepath.Join(dir, "logs", "kube-apiserver.log"), 30))
	}
	return c, client
}

// writeServiceAccountKey writes the RSA pair that signs service account tokens.
func writeServiceAccountKey(privPath, pubPath string) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("service account key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("service account key: %w", err)
	}
	if err := os.WriteFile(privPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return fmt.Errorf("write service account key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return fmt.Errorf("service account public key: %w", err)
	}
	if err := os.WriteFile(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644); err != nil {
		return fmt.Errorf("write service account public key: %w", err)
	}
	return nil
}
