package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/jobcheck/jobcheck/certs"
	"github.com/jobcheck/jobcheck/contract"
	"github.com/jobcheck/jobcheck/webhook"
)

// runServe runs the admission webhook until SIGTERM or SIGINT.
func runServe(args []string, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	return serve(ctx, args, stderr, nil)
}

// serveFlags are serve's own flags; the injection defaults come from addConfigFlags.
type serveFlags struct {
	listen, metricsListen string
	certFile, keyFile     string
	kubeconfig            string
	certReload, lookup    time.Duration
	shutdownDelay         time.Duration
	shutdownGrace         time.Duration
}

// serve is runServe until ctx ends. When ready is not nil it receives the
// bound HTTPS and metrics addresses once both listeners are open (tests
// listen on port 0).
func serve(ctx context.Context, args []string, stderr io.Writer, ready func(https, metrics string)) int {
	fs := flag.NewFlagSet("jobcheck-webhook serve", flag.ContinueOnError)
	var f serveFlags
	fs.StringVar(&f.listen, "listen", ":8443", "HTTPS address of POST /mutate")
	fs.StringVar(&f.metricsListen, "metrics-listen", ":8080", "plain-HTTP address of /metrics, /healthz and /readyz")
	fs.StringVar(&f.certFile, "tls-cert-file", "", "serving certificate (PEM, cert-manager's), re-read when it changes; or --cert-secret")
	fs.StringVar(&f.keyFile, "tls-key-file", "", "serving certificate's private key (PEM), re-read when it changes; or --cert-secret")
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file for the owner lookup; empty: the in-cluster service account")
	fs.DurationVar(&f.certReload, "cert-reload-interval", 10*time.Second, "how often the certificate files are checked for a change")
	fs.DurationVar(&f.lookup, "lookup-timeout", 3*time.Second, "bound on finding a pod's Job and CronJob; past it the pod is admitted unmutated")
	fs.DurationVar(&f.shutdownDelay, "shutdown-delay", 5*time.Second, "on SIGTERM, time the webhook keeps answering with /readyz failing, so the Service stops sending it requests before it closes its listener")
	fs.DurationVar(&f.shutdownGrace, "shutdown-grace", 10*time.Second, "on SIGTERM, after --shutdown-delay, time given to requests in flight")
	config := addConfigFlags(fs)
	cf := addCertFlags(fs)
	limits := addAdmissionFlags(fs)
	imgFlags := addImageFlags(fs, false)
	rf := addRunFlags(fs)
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	usage := func(err error) int {
		fmt.Fprintf(stderr, "jobcheck-webhook serve: %v\n", err)
		return 2
	}
	cfg, err := config()
	if err != nil {
		return usage(err)
	}
	if err := cf.check(f.certFile, f.keyFile); err != nil {
		return usage(err)
	}
	lim, err := limits()
	if err != nil {
		return usage(err)
	}
	if err := rf.check(); err != nil {
		return usage(err)
	}
	if f.shutdownDelay < 0 {
		return usage(fmt.Errorf("--shutdown-delay %v: want zero or more", f.shutdownDelay))
	}
	for name, d := range map[string]time.Duration{"cert-reload-interval": f.certReload, "lookup-timeout": f.lookup} {
		if d <= 0 {
			return usage(fmt.Errorf("--%s %v: want a positive duration", name, d))
		}
	}
	if rf.enabled {
		// The run watcher reports runs from the Job objects: the agents in the
		// pods this webhook injects report only their attempts.
		cfg.Report = contract.ReportAttempt
	}

	log := slog.New(slog.NewJSONHandler(stderr, nil))
	klog.SetSlogLogger(log) // client-go's own messages (watch errors) as JSON lines too
	if limit, err := setMemoryLimit(os.Getenv); err != nil {
		log.Warn("Go memory limit not set", "err", err)
	} else if limit > 0 {
		log.Info("Go memory limit", "bytes", limit)
	}
	if !cf.selfManaged() {
		// A wrong path or a broken file is reported first, with the file named.
		if err := certs.Check(f.certFile, f.keyFile); err != nil {
			log.Error("cannot start", "err", err)
			return 1
		}
	}
	restConfig, err := kubeConfig(f.kubeconfig)
	if err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	restConfig.UserAgent = "jobcheck-webhook/" + version
	lim.apply(restConfig)
	meta, err := metadata.NewForConfig(restConfig)
	if err != nil {
		log.Error("cannot start", "err", fmt.Errorf("metadata client: %w", err))
		return 1
	}
	client, err := kubernetes.NewForConfig(restConfig)
	if err != nil {
		log.Error("cannot start", "err", fmt.Errorf("kubernetes client: %w", err))
		return 1
	}
	src, err := cf.newCertSource(f.certFile, f.keyFile, f.certReload, client)
	if err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}

	httpsLn, err := net.Listen("tcp", f.listen)
	if err != nil {
		log.Error("cannot start", "err", fmt.Errorf("listen on --listen %s: %w", f.listen, err))
		return 1
	}
	opsLn, err := net.Listen("tcp", f.metricsListen)
	if err != nil {
		httpsLn.Close()
		log.Error("cannot start", "err", fmt.Errorf("listen on --metrics-listen %s: %w", f.metricsListen, err))
		return 1
	}

	// The parts behind the servers (certificate, informers, run watcher,
	// Events) run on a context of their own, ended only once the servers
	// have shut down: the replica keeps answering, reporting and recording
	// through --shutdown-delay after a SIGTERM (ctx).
	partsCtx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait() // deferred first, so it runs after cancel: the goroutines stop on partsCtx
	defer cancel()

	wg.Go(func() { src.Run(partsCtx, log.With("component", "certificate")) })
	// A lookup the cache cannot answer is at most two GETs (the Job, its
	// CronJob), each bounded by half of --lookup-timeout.
	owners := webhook.NewOwnerCache(meta, client, f.lookup/2)
	metrics := webhook.NewMetrics(src.NotAfter)
	if c, ok := src.(prometheus.Collector); ok {
		if err := metrics.Registerer().Register(c); err != nil {
			log.Error("cannot start", "err", fmt.Errorf("certificate metrics: %w", err))
			return 1
		}
	}
	watcher, err := rf.watcher(client, owners.Workloads(), cfg.Pushgateway, metrics.Registerer(), log)
	if err != nil {
		log.Error("cannot start", "err", fmt.Errorf("run watcher: %w", err))
		return 1
	}
	lookup, err := imgFlags.lookup(client, metrics.Registerer(), log)
	if err != nil {
		log.Error("cannot start", "err", fmt.Errorf("image lookup: %w", err))
		return 1
	}
	events, err := newEventRecorder(partsCtx, restConfig, log)
	if err != nil {
		log.Error("cannot start", "err", fmt.Errorf("events: %w", err))
		return 1
	}
	owners.Start(partsCtx)
	if watcher != nil {
		wg.Go(func() { watcher.Run(partsCtx) })
	}

	opts := webhook.Options{
		Inject: cfg, Owners: owners, Metrics: metrics, Log: log, LookupTimeout: f.lookup,
		Events: events, ImageBudget: *imgFlags.budget,
	}
	if lookup != nil { // a nil *Lookup must not become a non-nil interface
		opts.Images = lookup
	}
	mux := http.NewServeMux()
	mux.Handle("/mutate", webhook.NewHandler(opts))
	var stopping atomic.Bool // set on SIGTERM: /readyz fails while requests are still answered
	errLog := slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	servers := []*http.Server{
		{Handler: mux, TLSConfig: src.TLSConfig(), ErrorLog: errLog,
			ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute},
		{Handler: webhook.OpsHandler(metrics,
			webhook.Check{Name: "certificate", Ready: src.Ready},
			webhook.Check{Name: "owner-caches", Ready: owners.Synced},
			webhook.Check{Name: "shutting-down", Ready: func() bool { return !stopping.Load() }}),
			ErrorLog: errLog, ReadHeaderTimeout: 10 * time.Second},
	}
	failed := make(chan error, 2)
	wg.Go(func() { failed <- ignoreClosed(servers[0].ServeTLS(httpsLn, "", "")) })
	wg.Go(func() { failed <- ignoreClosed(servers[1].Serve(opsLn)) })
	log.Info("serving", "version", version, "https", httpsLn.Addr().String(), "metrics", opsLn.Addr().String())
	if ready != nil {
		ready(httpsLn.Addr().String(), opsLn.Addr().String())
	}

	code := 0
	select {
	case <-ctx.Done():
		// The API server reaches the webhook through its Service: a listener
		// closed while the endpoints still name this replica would cost pods
		// created meanwhile their monitoring (failurePolicy Ignore). So first
		// fail /readyz and keep answering for --shutdown-delay.
		log.Info("shutting down", "delay", f.shutdownDelay)
		stopping.Store(true)
		time.Sleep(f.shutdownDelay)
	case err := <-failed:
		log.Error("server stopped", "err", err)
		code = 1
	}
	shutdownCtx, done := context.WithTimeout(context.Background(), f.shutdownGrace)
	defer done()
	for _, s := range servers {
		if err := s.Shutdown(shutdownCtx); err != nil {
			log.Warn("shutdown", "err", err)
		}
	}
	cancel()
	return code
}

func ignoreClosed(err error) error {
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// kubeConfig is the client configuration from path, or in-cluster when path is empty.
func kubeConfig(path string) (*rest.Config, error) {
	if path == "" {
		c, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("in-cluster config (use --kubeconfig outside a cluster): %w", err)
		}
		return c, nil
	}
	c, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, fmt.Errorf("load --kubeconfig %s: %w", path, err)
	}
	return c, nil
}

// parseFlags parses args; a bad flag or an argument is reported on one line
// (exit 2), --help prints the flags (exit 0). ok is true when the command should go on.
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) (code int, ok bool) {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(stderr)
		fmt.Fprintf(stderr, "usage: %s [flags]\n\nflags:\n", fs.Name())
		fs.PrintDefaults()
		return 0, false
	case err != nil:
		fmt.Fprintf(stderr, "%s: %v (see --help)\n", fs.Name(), err)
		return 2, false
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "%s: unexpected argument %q (see --help)\n", fs.Name(), fs.Arg(0))
		return 2, false
	}
	return 0, true
}
