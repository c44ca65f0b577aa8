//go:build e2e

// Package e2e drives jobcheck through a real single-node Kubernetes: the real
// kube-apiserver calls the real webhook over TLS, the real Job controller creates the
// pods, the real kubelet runs the injected init container, wrapped command, liveness
// probe and preStop hook, and the agent pushes to a real Pushgateway. One cluster
// serves every scenario (TestMain); each scenario works in namespaces of its own.
//
//	cd test/e2e && go test -tags e2e -count=1 -v -run TestFullRun ./
package e2e

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jobcheck/jobcheck/test/e2e/cluster"
)

// env is the shared cluster, webhook and Pushgateway.
var env *cluster.Env

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) (code int) {
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	dir := os.Getenv("E2E_RUN_DIR") // hack/e2e.sh names it, to clean up after a crash
	if dir == "" {
		d, err := os.MkdirTemp("", "jc-e2e-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "e2e: run dir:", err)
			return 1
		}
		dir = d
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var once sync.Once
	teardown := func() {
		once.Do(func() {
			if env == nil {
				return
			}
			if code != 0 || os.Getenv("E2E_LOGS") != "" {
				fmt.Fprintf(os.Stderr, "\n=== component logs (tails) ===\n%s\n", env.Logs(40))
			}
			start := time.Now()
			if err := env.Down(); err != nil {
				fmt.Fprintln(os.Stderr, "e2e: teardown:", err)
				code = 1
			}
			log.Info("cluster stopped", "took", time.Since(start).Round(time.Millisecond))
		})
	}
	// Interrupted (Ctrl-C, CI cancelling) or about to hit -timeout: stop the cluster
	// first, so that no process, mount or cgroup of the run is left behind.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sig
		fmt.Fprintf(os.Stderr, "e2e: %v: stopping the cluster\n", s)
		code = 130
		teardown()
		os.Exit(130)
	}()
	if f := flag.Lookup("test.timeout"); f != nil {
		if d, ok := f.Value.(flag.Getter).Get().(time.Duration); ok && d > time.Minute {
			timer := time.AfterFunc(d-45*time.Second, func() {
				fmt.Fprintln(os.Stderr, "e2e: -timeout is near: stopping the cluster")
				code = 1
				teardown()
				os.Exit(1)
			})
			defer timer.Stop()
		}
	}
	defer teardown()

	start := time.Now()
	e, err := cluster.Up(ctx, cluster.EnvOptions{Root: root, Dir: dir, Log: log})
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: bring up the cluster:", err)
		_ = os.RemoveAll(dir)
		return 1
	}
	env = e
	log.Info("cluster up", "took", time.Since(start).Round(time.Millisecond), "dir", dir, "server", env.Server)
	return m.Run()
}
