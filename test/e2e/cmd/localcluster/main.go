// Command localcluster runs jobcheck's local single-node cluster outside the tests:
// `make demo` (hack/e2e.sh demo) and `make demo-down` use it. It shares the harness
// code (package cluster) with the end-to-end tests; its processes run detached, in
// sessions of their own, and are recorded in DIR/state.json so that `down` stops
// exactly them.
//
//	localcluster up       --dir DIR --root REPO   start the cluster, webhook, Pushgateway
//	localcluster demo     --dir DIR --root REPO   up (if needed), then a run that succeeds, one that fails, the alerts
//	localcluster down     --dir DIR               stop everything and remove DIR
//	localcluster registry --root REPO --listen ADDR   (internal) serve the images
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/jobcheck/jobcheck/test/e2e/cluster"
)

const usage = `usage: localcluster up|demo|down|registry [flags]
  up        start the local cluster, the webhook and a Pushgateway (kept running)
  demo      up (if not running), then run an annotated CronJob that succeeds and one that fails,
            show what was injected and pushed, and the alerts Prometheus fires (and Alertmanager gets)
  down      stop everything the cluster started and remove its directory
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	fs := flag.NewFlagSet("localcluster "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", ".run/demo", "the cluster's state directory")
	root := fs.String("root", ".", "the jobcheck repository (bin/, manifests/)")
	listen := fs.String("listen", "127.0.0.1:0", "registry: address to serve on")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch args[0] {
	case "up":
		_, err = up(ctx, *dir, *root, log, stdout)
	case "demo":
		err = demo(ctx, *dir, *root, log, stdout)
	case "down":
		err = down(*dir, stdout)
	case "registry":
		err = cluster.ServeRegistryUntil(ctx, *root, *listen)
	default:
		fmt.Fprintf(stderr, "localcluster: unknown command %q\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "localcluster %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// up starts the cluster unless DIR already holds a running one.
func up(ctx context.Context, dir, root string, log *slog.Logger, out io.Writer) (*cluster.Env, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	if c, err := cluster.Load(dir); err == nil && running(c) {
		fmt.Fprintf(out, "local cluster already running (state in %s)\n", dir)
		return envFromState(c, root)
	} else if err == nil {
		// Left over from a run that died: clean it up first.
		_ = c.Stop()
		_ = c.RemoveDir()
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find own executable: %w", err)
	}
	fmt.Fprintln(out, "starting a local single-node cluster: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, containerd, kubelet ...")
	e, err := cluster.Up(ctx, cluster.EnvOptions{Root: root, Dir: dir, Log: log,
		RegistryCmd: []string{self, "registry", "--root", root}})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "cluster up: node %s, API server %s\n", e.Node, e.Server)
	return e, nil
}

func running(c *cluster.Cluster) bool {
	if len(c.Procs) == 0 {
		return false
	}
	for _, p := range c.Procs {
		if !p.Alive() {
			return false
		}
	}
	return true
}

func down(dir string, out io.Writer) error {
	c, err := cluster.Load(dir)
	if errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(out, "no local cluster in %s\n", dir)
		return nil
	}
	if err != nil {
		return err
	}
	err = errors.Join(c.Stop(), c.RemoveDir())
	if err == nil {
		fmt.Fprintf(out, "local cluster stopped, %s removed\n", dir)
	}
	return err
}
