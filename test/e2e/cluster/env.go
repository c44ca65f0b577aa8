package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
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
	Registry    *Registry         // nil when the registry is a process
	Pushgateway *Pushgateway
	Webhook     *Webhook
}

// Images lists the images of a run: the agent and webhook images from bin/, the test
// jobs' busybox image and the sandbox image (test/e2e/bin/pause).
func Images(root string) ([]ImageSpec, error) {
	agent, webhook := filepath.Join(root, "bin", "jobcheck"), filepath.Join(root, "bin", "jobcheck-webhook")
	for _, f := range []string{agent, webhook, "/bin/busybox"} {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("image input %s missing (run `make agent webhook` and hack/deps.sh all): %w", f, err)
		}
	}
	pause := filepath.Join(root, "test", "e2e", "bin", "pause")
	cmd := exec.Command("go", "build", "-trimpath", "-o", pause, "./cmd/pause")
	cmd.Dir = filepath.Join(root, "test", "e2e")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build pause: %w: %s", err, out)
	}
	return []ImageSpec{AgentImage(agent), WebhookImage(webhook), BusyboxImage(), PauseImage(pause)}, nil
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
	e = &Env{Root: root, Images: map[string]string{}}
	var regProc *Proc
	var regAddr string
	if len(o.RegistryCmd) == 0 {
		if e.Registry, err = ServeRegistry("127.0.0.1:0"); err != nil {
			return nil, err
		}
		if e.Images, err = e.Registry.Push(specs...); err != nil {
			e.Registry.Close()
			return nil, err
		}
		regAddr = e.Registry.Addr
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
		last := specs[len(specs)-1]
		manifest := "http://" + regAddr + "/v2/" + last.Repo + "/manifests/" + Tag
		if err := WaitHTTP(ctx, "registry", manifest, nil, 60*time.Second); err != nil {
			_ = regProc.Stop(5 * time.Second)
			return nil, fmt.Errorf("%w\n%s", err, LogTail(regProc.Log, 20))
		}
	}
	c, err := Start(ctx, Options{Dir: o.Dir, Bin: filepath.Join(root, "test", "e2e", "bin"), Registry: regAddr,
		PauseImage: e.Images["jobcheck/e2e-pause"], Log: o.Log})
	if err != nil {
		if regProc != nil {
			_ = regProc.Stop(5 * time.Second)
		}
		if e.Registry != nil {
			e.Registry.Close()
		}
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
	if e.Webhook, err = c.StartWebhook(ctx, WebhookOptions{
		Bin: filepath.Join(root, "bin", "jobcheck-webhook"), AgentImage: e.Images["jobcheck/agent"],
		Pushgateway: e.Pushgateway.URL, Manifests: filepath.Join(root, "manifests"),
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
	if e.Registry != nil {
		errs = append(errs, e.Registry.Close())
	}
	return errors.Join(errs...)
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
	r, err := ServeRegistry(addr)
	if err != nil {
		return err
	}
	defer r.Close()
	if _, err := r.Push(specs...); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}
