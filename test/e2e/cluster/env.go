package cluster

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// EnvOptions say where the repository is and where a run keeps its state.
type EnvOptions struct {
	Root string // the repository root (holds bin/, manifests/, test/e2e/)
	Dir  string // the run directory
	Log  *slog.Logger
	// RegistryCmd, when set, runs the image registry as a process of its own (the demo,
	// whose cluster outlives the command): it is called with "--listen", "ADDR" appended
	// and must serve the images of Images(Root). Empty: serve in this process (tests).
	RegistryCmd []string
}

// Env is everything a scenario talks to: the cluster, its registry and images, a
// Pushgateway and the registered webhook.
type Env struct {
	*Cluster
	Root        string
	Images      map[string]string // reference by repository (jobcheck/agent, jobcheck/e2e-busybox, ...)
	Built       []BuiltImage      // the agent and webhook images of `make images`, as pushed to Registry
	Registry    *Registry         // nil when the registry is a process
	Pushgateway *Pushgateway
	Webhook     *Webhook

	// The registries of the image-lookup scenarios (tests only, not the demo): one
	// that needs credentials (RegistryUser, RegistryPassword: an imagePullSecret) and
	// one behind HTTPS with a private CA (RegistryCAFile). Each serves the argv images
	// and the multi-arch index; AuthImages and TLSImages hold their references by
	// repository, as Images does for the anonymous registry.
	AuthRegistry, TLSRegistry      *Registry
	AuthImages, TLSImages          map[string]string
	RegistryUser, RegistryPassword string
	RegistryCAFile                 string
}

// LeaseNamespace is the webhook's namespace: the run watcher's Lease is there.
const LeaseNamespace = "jobcheck-system"

// Images lists the images of a run the harness builds itself: the test jobs' busybox
// image, the sandbox image (test/e2e/bin/pause) and the argv images. The agent and
// webhook images are the ones `make images` built (LayoutImages); the webhook also
// runs as a host process from bin/jobcheck-webhook.
func Images(root string) ([]ImageSpec, error) {
	for _, f := range []string{filepath.Join(root, "bin", "jobcheck-webhook"), "/bin/busybox"} {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("image input %s missing (run `make webhook` and hack/deps.sh all): %w", f, err)
		}
	}
	pause, err := buildTool(root, "pause")
	if err != nil {
		return nil, err
	}
	argv, err := buildTool(root, "argv")
	if err != nil {
		return nil, err
	}
	return []ImageSpec{BusyboxImage(), PauseImage(pause), ArgvEntrypointImage(argv), ArgvCmdImage(argv)}, nil
}

// buildTool builds test/e2e/cmd/NAME, static, into test/e2e/bin/NAME.
func buildTool(root, name string) (string, error) {
	out := filepath.Join(root, "test", "e2e", "bin", name)
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, "./cmd/"+name)
	cmd.Dir = filepath.Join(root, "test", "e2e")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build %s: %w: %s", name, err, b)
	}
	return out, nil
}

// lookupRegistries starts the registry that needs credentials and the one behind
// TLS, each serving the argv images and the multi-arch index.
func (e *Env) lookupRegistries(dir string) ([]RegistryEndpoint, error) {
	argv := filepath.Join(e.Root, "test", "e2e", "bin", "argv")
	specs := []ImageSpec{ArgvEntrypointImage(argv), ArgvCmdImage(argv)}
	index := ArgvMultiArch(argv)
	e.RegistryUser, e.RegistryPassword = "e2e", randomHex(8)
	var err error
	if e.AuthRegistry, err = ServeRegistryWith("127.0.0.1:0", RegistryOptions{User: e.RegistryUser, Password: e.RegistryPassword}); err != nil {
		return nil, err
	}
	ca, err := newPKI()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "registry-tls"), 0o755); err != nil {
		return nil, fmt.Errorf("registry TLS dir: %w", err)
	}
	e.RegistryCAFile = filepath.Join(dir, "registry-tls", "ca.crt")
	certFile, keyFile := filepath.Join(dir, "registry-tls", "tls.crt"), filepath.Join(dir, "registry-tls", "tls.key")
	if err := ca.writeCA(e.RegistryCAFile); err != nil {
		return nil, err
	}
	if err := ca.serving(certFile, keyFile, "e2e-registry", []net.IP{net.ParseIP("127.0.0.1")}, []string{"localhost"}); err != nil {
		return nil, err
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("registry TLS certificate: %w", err)
	}
	if e.TLSRegistry, err = ServeRegistryWith("127.0.0.1:0", RegistryOptions{
		TLS: &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, CA: ca.caPEM(),
	}); err != nil {
		return nil, err
	}
	for _, r := range []struct {
		reg  *Registry
		refs *map[string]string
	}{{e.AuthRegistry, &e.AuthImages}, {e.TLSRegistry, &e.TLSImages}} {
		if *r.refs, err = r.reg.Push(specs...); err != nil {
			return nil, err
		}
		ref, err := r.reg.PushIndex(index)
		if err != nil {
			return nil, err
		}
		(*r.refs)[index.Repo] = ref
	}
	if ref, err := e.Registry.PushIndex(index); err != nil {
		return nil, err
	} else {
		e.Images[index.Repo] = ref
	}
	return []RegistryEndpoint{
		{Addr: e.AuthRegistry.Addr, Scheme: "http"},
		{Addr: e.TLSRegistry.Addr, Scheme: "https", CAFile: e.RegistryCAFile},
	}, nil
}

// Up starts the registry, the cluster, the Pushgateway and the webhook. When it fails
// it stops what it started.
func Up(ctx context.Context, o EnvOptions) (e *Env, err error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	root, err := filepath.Abs(o.Root)
	if err != nil {
		return nil, fmt.Errorf("repository root: %w", err)
	}
	specs, err := Images(root)
	if err != nil {
		return nil, err
	}
	built, err := LayoutImages(layoutPath(root))
	if err != nil {
		return nil, err
	}
	e = &Env{Root: root, Images: map[string]string{}, Built: built}
	var extra []RegistryEndpoint
	var regProc *Proc
	var regAddr string
	if len(o.RegistryCmd) == 0 {
		if e.Registry, err = ServeRegistry("127.0.0.1:0"); err != nil {
			return nil, err
		}
		if e.Images, err = e.Registry.Push(specs...); err != nil {
			e.closeRegistries()
			return nil, err
		}
		for _, b := range built {
			if e.Images[b.Key], err = e.Registry.PushBuilt(b); err != nil {
				e.closeRegistries()
				return nil, err
			}
		}
		regAddr = e.Registry.Addr
		if extra, err = e.lookupRegistries(o.Dir); err != nil {
			e.closeRegistries()
			return nil, err
		}
	} else {
		regAddr = fmt.Sprintf("127.0.0.1:%d", FreePort())
		if err := os.MkdirAll(filepath.Join(o.Dir, "logs"), 0o755); err != nil {
			return nil, fmt.Errorf("create run dir: %w", err)
		}
		argv := append(append([]string(nil), o.RegistryCmd...), "--listen", regAddr)
		if regProc, err = startProc("registry", filepath.Join(o.Dir, "logs", "registry.log"), argv, nil); err != nil {
			return nil, err
		}
		for _, s := range specs {
			e.Images[s.Repo] = s.Ref(regAddr)
		}
		for _, b := range built {
			e.Images[b.Key] = b.Ref(regAddr)
		}
		last := built[len(built)-1] // pushed last
		manifest := "http://" + regAddr + "/v2/" + last.Repo() + "/manifests/" + last.Tag
		if err := WaitHTTP(ctx, "registry", manifest, nil, 60*time.Second); err != nil {
			_ = regProc.Stop(5 * time.Second)
			return nil, fmt.Errorf("%w\n%s", err, LogTail(regProc.Log, 20))
		}
	}
	c, err := Start(ctx, Options{Dir: o.Dir, Bin: filepath.Join(root, "test", "e2e", "bin"), Registry: regAddr,
		PauseImage: e.Images["jobcheck/e2e-pause"], Extra: extra, Log: o.Log})
	if err != nil {
		if regProc != nil {
			_ = regProc.Stop(5 * time.Second)
		}
		e.closeRegistries()
		return nil, err
	}
	e.Cluster = c
	if regProc != nil {
		// Recorded first so that it is stopped last.
		c.mu.Lock()
		c.Procs = append([]*Proc{regProc}, c.Procs...)
		c.mu.Unlock()
	}
	defer func() {
		if err != nil {
			_ = e.Down()
			e = nil
		}
	}()
	if e.Pushgateway, err = c.StartPushgateway(ctx); err != nil {
		return e, err
	}
	// The run watcher's Lease lives in the webhook's namespace, as in a cluster.
	if _, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: LeaseNamespace}},
		metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return e, fmt.Errorf("create namespace %s: %w", LeaseNamespace, err)
	}
	args := []string{
		"--leader-elect-resource-namespace=" + LeaseNamespace,
		// Shorter than the defaults (15s, 10s, 2s), so that a killed leader is
		// replaced within seconds in the failover scenario.
		"--leader-elect-lease-duration=6s", "--leader-elect-renew-deadline=4s", "--leader-elect-retry-period=1s",
	}
	if e.RegistryCAFile != "" {
		args = append(args, "--image-ca-file="+e.RegistryCAFile)
	}
	if e.Webhook, err = c.StartWebhook(ctx, WebhookOptions{
		Bin: filepath.Join(root, "bin", "jobcheck-webhook"), AgentImage: e.Images["jobcheck/agent"],
		Pushgateway: e.Pushgateway.URL, Manifests: filepath.Join(root, "manifests"), Args: args,
	}); err != nil {
		return e, err
	}
	return e, nil
}

// Down stops everything Up started and removes the run directory.
func (e *Env) Down() error {
	var errs []error
	if e.Cluster != nil {
		errs = append(errs, e.Cluster.Stop(), e.Cluster.RemoveDir())
	}
	e.closeRegistries()
	return errors.Join(errs...)
}

func (e *Env) closeRegistries() {
	for _, r := range []*Registry{e.Registry, e.AuthRegistry, e.TLSRegistry} {
		if r != nil {
			_ = r.Close()
		}
	}
}

// Logs returns the tails of every component's log: what a failed test prints.
func (c *Cluster) Logs(lines int) string {
	var b strings.Builder
	files, _ := filepath.Glob(c.path("logs", "*.log"))
	for _, f := range files {
		fmt.Fprintf(&b, "--- %s ---\n%s\n", filepath.Base(f), LogTail(f, lines))
	}
	return b.String()
}

// ServeRegistryUntil serves the images of root on addr until ctx ends: the body of the
// demo's registry process.
func ServeRegistryUntil(ctx context.Context, root, addr string) error {
	specs, err := Images(root)
	if err != nil {
		return err
	}
	built, err := LayoutImages(layoutPath(root))
	if err != nil {
		return err
	}
	r, err := ServeRegistry(addr)
	if err != nil {
		return err
	}
	defer r.Close()
	if _, err := r.Push(specs...); err != nil {
		return err
	}
	for _, b := range built {
		if _, err := r.PushBuilt(b); err != nil {
			return err
		}
	}
	<-ctx.Done()
	return nil
}
