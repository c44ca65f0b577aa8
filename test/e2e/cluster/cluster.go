// Package cluster runs a real single-node Kubernetes on this machine for jobcheck's
// end-to-end tests and its demo: etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler, containerd and a kubelet, each a process of its own on 127.0.0.1,
// all state in one run directory, stopped exactly (by recorded pid) at the end.
package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Options say where a cluster keeps its state and finds its programs.
type Options struct {
	// Dir is the run directory; everything the cluster writes goes below it. Keep it
	// short: unix socket paths below it must fit in 108 bytes.
	Dir string
	// Bin holds kube-apiserver, kube-controller-manager, kube-scheduler and kubelet.
	Bin string
	// Registry is host:port of the plain-HTTP registry that serves the images; the
	// node pulls from it and its "pause" image is the sandbox image.
	Registry string
	// PauseImage is the sandbox image reference (in Registry).
	PauseImage string
	// Extra are more registries the node pulls from: their scheme, and for HTTPS the
	// CA file their certificate verifies against. Credentials come from the pods'
	// imagePullSecrets, as on any node.
	Extra []RegistryEndpoint
	Log   *slog.Logger
}

// RegistryEndpoint is how the node reaches a registry.
type RegistryEndpoint struct {
	Addr   string // host:port
	Scheme string // http or https
	CAFile string // for https: the CA of its certificate
}

// State is everything `Down` needs to stop a cluster from another process: it is
// written to Dir/state.json after every process start.
type State struct {
	Dir        string  `json:"dir"`
	Server     string  `json:"server"`
	Token      string  `json:"token"`
	Kubeconfig string  `json:"kubeconfig"`
	Node       string  `json:"node"`
	Registry   string  `json:"registry"`
	Socket     string  `json:"containerd_socket"`
	Bridge     string  `json:"bridge"`
	CgroupRoot string  `json:"cgroup_root"`
	Machine    Machine `json:"machine"`
	Procs      []*Proc `json:"procs"`
	// Extra holds named values other parts of the harness record (ports, paths).
	Extra map[string]string `json:"extra,omitempty"`
}

// Cluster is a running single-node cluster.
type Cluster struct {
	State
	Client kubernetes.Interface
	Config *rest.Config
	CA     []byte // PEM of the cluster CA (also the apiserver's serving CA)

	mu  sync.Mutex
	log *slog.Logger
	pki *pki
}

// Start brings a cluster up and waits until its node is Ready. When it fails, it stops
// what it had started.
func Start(ctx context.Context, o Options) (c *Cluster, err error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("run dir %q: %w", o.Dir, err)
	}
	for _, d := range []string{"etcd", "pki", "logs", "kubelet", "pod-logs", "cni/net.d", "cni/ipam", "containerd", "certs"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, fmt.Errorf("create run dir: %w", err)
		}
	}
	id := randomHex(3)
	c = &Cluster{log: o.Log, State: State{
		Dir:        dir,
		Token:      randomHex(16),
		Kubeconfig: filepath.Join(dir, "kubeconfig"),
		Node:       "jobcheck-" + id,
		Registry:   o.Registry,
		Socket:     filepath.Join(dir, "containerd", "containerd.sock"),
		Bridge:     "jcbr" + id,
		CgroupRoot: "jobcheck-" + id,
		Machine:    recordMachine(),
		Extra:      map[string]string{},
	}}
	if err := c.save(); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			if serr := c.Stop(); serr != nil {
				o.Log.Error("stop after failed start", "err", serr)
			}
			c = nil
		}
	}()
	if err := c.controlPlane(ctx, o); err != nil {
		return c, err
	}
	if err := c.node(ctx, o); err != nil {
		return c, err
	}
	return c, nil
}

func (c *Cluster) path(p ...string) string { return filepath.Join(append([]string{c.Dir}, p...)...) }

// controlPlane starts etcd, kube-apiserver, kube-controller-manager and kube-scheduler.
func (c *Cluster) controlPlane(ctx context.Context, o Options) error {
	var err error
	if c.pki, err = newPKI(); err != nil {
		return err
	}
	c.CA = c.pki.caPEM()
	if err := c.pki.writeCA(c.path("pki", "ca.crt")); err != nil {
		return err
	}
	if err := c.pki.serving(c.path("pki", "apiserver.crt"), c.path("pki", "apiserver.key"), "kube-apiserver",
		[]net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.0.0.1")},
		[]string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"}); err != nil {
		return err
	}
	if err := serviceAccountKey(c.path("pki", "sa.key"), c.path("pki", "sa.pub")); err != nil {
		return err
	}
	tokens := fmt.Sprintf("%s,admin,admin,\"system:masters\"\n", c.Token)
	if err := os.WriteFile(c.path("pki", "tokens.csv"), []byte(tokens), 0o600); err != nil {
		return fmt.Errorf("write token file: %w", err)
	}

	etcdClient, etcdPeer := FreePort(), FreePort()
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", etcdClient)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", etcdPeer)
	if _, err := c.Run("etcd", []string{"etcd", "--name=e2e", "--data-dir=" + c.path("etcd"),
		"--listen-client-urls=" + etcdURL, "--advertise-client-urls=" + etcdURL,
		"--listen-peer-urls=" + peerURL, "--initial-advertise-peer-urls=" + peerURL,
		"--initial-cluster=e2e=" + peerURL, "--log-level=warn"}, nil); err != nil {
		return err
	}
	if err := WaitHTTP(ctx, "etcd", etcdURL+"/health", nil, 60*time.Second); err != nil {
		return c.withLog("etcd", err)
	}

	port := FreePort()
	c.Server = fmt.Sprintf("https://127.0.0.1:%d", port)
	if _, err := c.Run("kube-apiserver", []string{filepath.Join(o.Bin, "kube-apiserver"),
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + c.path("pki", "apiserver"),
		"--tls-cert-file=" + c.path("pki", "apiserver.crt"), "--tls-private-key-file=" + c.path("pki", "apiserver.key"),
		"--client-ca-file=" + c.path("pki", "ca.crt"),
		"--token-auth-file=" + c.path("pki", "tokens.csv"),
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + c.path("pki", "sa.pub"),
		"--service-account-signing-key-file=" + c.path("pki", "sa.key"),
		"--service-cluster-ip-range=10.0.0.0/24",
		"--endpoint-reconciler-type=none",
		// There is no kube-proxy, so no ClusterIP routing: the API server calls the
		// webhooks and aggregated APIs registered by Service (the Helm install's) at
		// one of the Service's ready endpoints (k8s.io/kube-aggregator's
		// NewEndpointServiceResolver, which the admission webhooks' client uses too).
		"--enable-aggregator-routing=true",
		"--allow-privileged=true",
		"--profiling=false",
	}, nil); err != nil {
		return err
	}
	if err := c.writeKubeconfig(); err != nil {
		return err
	}
	if err := WaitHTTP(ctx, "kube-apiserver", c.Server+"/readyz", c.httpClient(), 120*time.Second); err != nil {
		return c.withLog("kube-apiserver", err)
	}
	if _, err := c.Run("kube-controller-manager", []string{filepath.Join(o.Bin, "kube-controller-manager"),
		"--kubeconfig=" + c.Kubeconfig, "--controllers=*",
		"--root-ca-file=" + c.path("pki", "ca.crt"),
		"--service-account-private-key-file=" + c.path("pki", "sa.key"),
		"--leader-elect=false", "--bind-address=127.0.0.1", "--secure-port=0",
		"--cert-dir=" + c.path("pki", "kcm"),
		"--flex-volume-plugin-dir=" + c.path("kcm-flexvolume"),
		"--profiling=false",
	}, nil); err != nil {
		return err
	}
	if _, err := c.Run("kube-scheduler", []string{filepath.Join(o.Bin, "kube-scheduler"),
		"--kubeconfig=" + c.Kubeconfig,
		"--authentication-kubeconfig=" + c.Kubeconfig, "--authorization-kubeconfig=" + c.Kubeconfig,
		"--leader-elect=false", "--bind-address=127.0.0.1", "--secure-port=" + strconv.Itoa(FreePort()),
		"--cert-dir=" + c.path("pki", "scheduler"),
		"--profiling=false",
	}, nil); err != nil {
		return err
	}
	return nil
}

// node starts containerd and the kubelet and waits for the node to be Ready.
func (c *Cluster) node(ctx context.Context, o Options) error {
	if err := makeCgroupRoot(c.CgroupRoot); err != nil {
		return err
	}
	data := map[string]any{
		"Dir": c.Dir, "Socket": c.Socket, "Registry": o.Registry, "PauseImage": o.PauseImage, "Extra": o.Extra,
		"Bridge": c.Bridge, "Subnet": fmt.Sprintf("10.244.%d.0/24", 1+int(c.Node[len(c.Node)-1])%200),
		"KubeletPort": FreePort(), "CgroupRoot": c.CgroupRoot, "Network": c.Bridge,
	}
	if err := writeTemplate(containerdConfig, c.path("containerd.toml"), data); err != nil {
		return err
	}
	if err := writeTemplate(cniConfig, c.path("cni", "net.d", "10-jobcheck.conflist"), data); err != nil {
		return err
	}
	if err := writeTemplate(kubeletConfig, c.path("kubelet.yaml"), data); err != nil {
		return err
	}
	if _, err := c.Run("containerd", []string{"containerd", "--config=" + c.path("containerd.toml")}, nil); err != nil {
		return err
	}
	if err := Poll(ctx, "containerd socket", 30*time.Second, func() (bool, error) {
		return exec.Command("ctr", "--address", c.Socket, "version").Run() == nil, nil
	}); err != nil {
		return c.withLog("containerd", err)
	}
	if _, err := c.Run("kubelet", []string{filepath.Join(o.Bin, "kubelet"),
		"--config=" + c.path("kubelet.yaml"), "--kubeconfig=" + c.Kubeconfig,
		"--root-dir=" + c.path("kubelet"), "--hostname-override=" + c.Node,
		"--cert-dir=" + c.path("kubelet", "pki"), "--volume-plugin-dir=" + c.path("kubelet-plugins"),
	}, []string{
		// No sbin on the kubelet's PATH: without an iptables binary it leaves the
		// machine's firewall alone (initNetworkUtil); it needs only mount and umount.
		"PATH=/usr/local/bin:/usr/bin:/bin",
	}); err != nil {
		return err
	}
	if err := Poll(ctx, "node "+c.Node+" Ready", 180*time.Second, func() (bool, error) {
		n, err := c.Client.CoreV1().Nodes().Get(ctx, c.Node, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				for _, t := range n.Spec.Taints {
					if t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute {
						return false, nil
					}
				}
				return true, nil
			}
		}
		return false, nil
	}); err != nil {
		return c.withLog("kubelet", err)
	}
	return nil
}

func (c *Cluster) writeKubeconfig() error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["e2e"] = &clientcmdapi.Cluster{Server: c.Server, CertificateAuthorityData: c.CA}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{Token: c.Token}
	cfg.Contexts["e2e"] = &clientcmdapi.Context{Cluster: "e2e", AuthInfo: "admin"}
	cfg.CurrentContext = "e2e"
	if err := clientcmd.WriteToFile(*cfg, c.Kubeconfig); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	return c.connect()
}

func (c *Cluster) connect() error {
	rc, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		return fmt.Errorf("load kubeconfig %s: %w", c.Kubeconfig, err)
	}
	rc.QPS, rc.Burst = 50, 100
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return fmt.Errorf("client for %s: %w", c.Server, err)
	}
	c.Config, c.Client = rc, cs
	return nil
}

// httpClient trusts the cluster CA and sends the admin token.
func (c *Cluster) httpClient() *http.Client {
	rc := &rest.Config{Host: c.Server, BearerToken: c.Token, TLSClientConfig: rest.TLSClientConfig{CAData: c.CA}}
	hc, err := rest.HTTPClientFor(rc)
	if err != nil {
		return http.DefaultClient
	}
	hc.Timeout = 5 * time.Second
	return hc
}

// Run starts a process of the cluster (logging to Dir/logs/NAME.log) and records it in
// the state, so that Stop and Down stop it too.
func (c *Cluster) Run(name string, argv, env []string) (*Proc, error) {
	p, err := startProc(name, c.path("logs", name+".log"), argv, env)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.Procs = append(c.Procs, p)
	c.mu.Unlock()
	c.log.Info("started", "name", name, "pid", p.Pid)
	return p, c.save()
}

// StopProc stops one recorded process (by name) and forgets it.
func (c *Cluster) StopProc(name string) error {
	c.mu.Lock()
	var p *Proc
	for i, q := range c.Procs {
		if q.Name == name {
			p = q
			c.Procs = append(c.Procs[:i:i], c.Procs[i+1:]...)
			break
		}
	}
	c.mu.Unlock()
	if p == nil {
		return fmt.Errorf("stop %s: not started", name)
	}
	err := p.Stop(10 * time.Second)
	if serr := c.save(); err == nil {
		err = serr
	}
	return err
}

// SetExtra records a named value in the state file.
func (c *Cluster) SetExtra(k, v string) error {
	c.mu.Lock()
	c.Extra[k] = v
	c.mu.Unlock()
	return c.save()
}

func (c *Cluster) save() error {
	c.mu.Lock()
	b, err := json.MarshalIndent(c.State, "", "  ")
	c.mu.Unlock()
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	if err := os.WriteFile(c.path("state.json"), b, 0o600); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	return nil
}

// withLog adds the tail of a component's log to err.
func (c *Cluster) withLog(name string, err error) error {
	return fmt.Errorf("%w\n--- tail of %s.log ---\n%s", err, name, LogTail(c.path("logs", name+".log"), 30))
}

// LogTail returns the last n lines of a file.
func LogTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Load reads a cluster's state from its run directory (for `localcluster down` and
// the demo's later commands).
func Load(dir string) (*Cluster, error) {
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		return nil, fmt.Errorf("load cluster state: %w", err)
	}
	c := &Cluster{log: slog.Default()}
	if err := json.Unmarshal(b, &c.State); err != nil {
		return nil, fmt.Errorf("parse %s/state.json: %w", dir, err)
	}
	if c.Extra == nil {
		c.Extra = map[string]string{}
	}
	if ca, err := os.ReadFile(filepath.Join(c.Dir, "pki", "ca.crt")); err == nil {
		c.CA = ca
	}
	if _, err := os.Stat(c.Kubeconfig); err == nil {
		_ = c.connect()
	}
	return c, nil
}

// Stop stops every process the cluster started, in reverse order, removes the pods'
// containers, mounts, cgroups and network bridge, and puts back what the kubelet
// changed on the machine. It does not remove the run directory (RemoveDir does).
func (c *Cluster) Stop() error {
	c.mu.Lock()
	procs := append([]*Proc(nil), c.Procs...)
	c.mu.Unlock()
	var errs []error
	for i := len(procs) - 1; i >= 0; i-- {
		p := procs[i]
		if p.Name == "containerd" {
			c.removeContainers()
		}
		if err := p.Stop(15 * time.Second); err != nil {
			errs = append(errs, err)
		}
		if p.Name == "containerd" {
			// A shim whose task could not be deleted outlives containerd: it carries
			// this run's socket path in its arguments.
			for _, pid := range processesWithArg(c.Socket) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	for _, pid := range cgroupProcs(c.CgroupRoot) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	if err := unmountUnder(c.Dir); err != nil {
		errs = append(errs, err)
	}
	if err := deleteLink(c.Bridge); err != nil {
		errs = append(errs, err)
	}
	if c.CgroupRoot != "" {
		_ = Poll(context.Background(), "cgroup empty", 10*time.Second, func() (bool, error) {
			return len(cgroupProcs(c.CgroupRoot)) == 0, nil
		})
		if err := removeCgroupRoot(c.CgroupRoot); err != nil {
			errs = append(errs, err)
		}
	}
	// libcni caches each attachment's result outside containerd's directories; the
	// pods were killed without a CNI DEL, so their entries (named after the run's
	// network) are removed here.
	if cached, _ := filepath.Glob("/var/lib/cni/results/" + c.Bridge + "-*"); len(cached) > 0 {
		for _, f := range cached {
			_ = os.Remove(f)
		}
	}
	if err := c.Machine.restore(c.Dir); err != nil {
		errs = append(errs, err)
	}
	c.mu.Lock()
	c.Procs = nil
	c.mu.Unlock()
	_ = c.save()
	return errors.Join(errs...)
}

// removeContainers kills every pod process and deletes containerd's tasks, so that the
// shims exit cleanly (removing their sockets and root filesystem mounts).
func (c *Cluster) removeContainers() {
	for _, pid := range cgroupProcs(c.CgroupRoot) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	ctr := func(args ...string) ([]byte, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		return exec.CommandContext(ctx, "ctr", append([]string{"--address", c.Socket, "--namespace", "k8s.io"}, args...)...).Output()
	}
	out, err := ctr("tasks", "ls", "-q")
	if err != nil {
		return
	}
	for _, id := range strings.Fields(string(out)) {
		_, _ = ctr("tasks", "kill", "--all", "--signal", "SIGKILL", id)
		_, _ = ctr("tasks", "delete", "--force", id)
	}
}

// RemoveDir deletes the run directory; call it after Stop.
func (c *Cluster) RemoveDir() error {
	if err := unmountUnder(c.Dir); err != nil {
		return err
	}
	if err := os.RemoveAll(c.Dir); err != nil {
		return fmt.Errorf("remove run dir: %w", err)
	}
	return nil
}

// APIGet GETs path (such as /metrics) from the kube-apiserver as the admin.
func (c *Cluster) APIGet(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Server+path, nil)
	if err != nil {
		return nil, fmt.Errorf("apiserver request: %w", err)
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, fmt.Errorf("apiserver GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("apiserver GET %s: %s %v", path, resp.Status, err)
	}
	return b, nil
}
