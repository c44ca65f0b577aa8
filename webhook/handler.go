// Package webhook is jobcheck's mutating admission webhook: the /mutate
// handler (AdmissionReview in, JSON patch out), the Job and CronJob owner
// lookup, the Events and metrics that make every skip visible, and the
// health endpoints. It is fail-open: whatever goes wrong inside, a pod is
// admitted, never denied.
package webhook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"reflect"
	"time"

	"k8s.io/client-go/tools/record"

	"github.com/jobcheck/jobcheck/contract"
	"github.com/jobcheck/jobcheck/inject"
)

// MaxBodyBytes bounds an AdmissionReview body; the API server's own request
// limit is 3 MiB, so a legitimate review always fits.
const MaxBodyBytes = 4 << 20

// Defaults of Options.
const (
	DefaultLookupTimeout = 3 * time.Second
	// DefaultImageBudget: contract.ImageLookupBudget.
	DefaultImageBudget = contract.ImageLookupBudget
)

// Options configure a Handler.
type Options struct {
	Inject        inject.Config // the defaults annotations override
	Owners        Owners        // finds a pod's Job and CronJob
	Metrics       *Metrics
	Log           *slog.Logger
	LookupTimeout time.Duration // bound on one owner lookup; DefaultLookupTimeout when zero

	// Events receives a Warning Event on the Job, and on its CronJob, of
	// every pod that opted in but is not monitored, or only partly
	// (docs/webhook.md, "Skips"); nil: no Events. Never for a dry run.
	Events record.EventRecorder

	// Images looks up what the images of the containers without a command
	// run; nil: nobody does, and such containers are not wrapped.
	Images ImageLookup
	// ImageBudget bounds one admission's image lookup; DefaultImageBudget
	// when zero. Past it the containers whose image is not known are left
	// unwrapped, with the reason shown.
	ImageBudget time.Duration
}

// ImageLookup finds what container images run when a container sets no
// command (package imageconfig's Lookup). Resolve returns within ctx's
// deadline; an image it could not read has its Err set.
type ImageLookup interface {
	Resolve(ctx context.Context, namespace, serviceAccount string, pullSecrets []string, images []string) inject.Images
}

// Handler answers POST /mutate.
type Handler struct {
	opts   Options
	mutate func(*podInput) inject.Result // inject.Pod; replaced in tests
}

// NewHandler returns the /mutate handler.
func NewHandler(o Options) *Handler {
	if o.LookupTimeout <= 0 {
		o.LookupTimeout = DefaultLookupTimeout
	}
	if o.ImageBudget <= 0 {
		o.ImageBudget = DefaultImageBudget
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if v := reflect.ValueOf(o.Images); v.Kind() == reflect.Pointer && v.IsNil() {
		o.Images = nil // a lookup that is off, passed as a nil *imageconfig.Lookup
	}
	return &Handler{opts: o, mutate: func(in *podInput) inject.Result {
		return inject.Pod(in.pod, in.owner, in.images, in.cfg)
	}}
}

// ServeHTTP checks the request (405, 415, 413, 400 with a message), then
// answers the AdmissionReview in its own version.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	h.opts.Metrics.inflight.Inc()
	defer h.opts.Metrics.inflight.Dec()

	status, err := h.serve(w, r, start)
	if err != nil {
		h.opts.Metrics.observe(resultError, "bad-request", time.Since(start))
		h.opts.Log.Warn("bad admission request", "status", status, "remote", r.RemoteAddr, "err", err)
		http.Error(w, err.Error(), status)
	}
}

// serve writes the answer to a well-formed request, or returns the status
// and message for a malformed one.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, start time.Time) (int, error) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return http.StatusMethodNotAllowed, fmt.Errorf("method %s not allowed: POST an AdmissionReview", r.Method)
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return http.StatusUnsupportedMediaType, fmt.Errorf("content type %q not supported: want application/json", r.Header.Get("Content-Type"))
	}
	body, err := readBody(w, r)
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return http.StatusRequestEntityTooLarge, fmt.Errorf("body larger than %d bytes", MaxBodyBytes)
		}
		return http.StatusBadRequest, fmt.Errorf("read body: %w", err)
	}
	rv, err := decodeReview(body)
	if err != nil {
		return http.StatusBadRequest, err
	}

	req := rv.Request
	ctx, cancel := admissionContext(r, start)
	out := h.admit(ctx, req)
	cancel()
	out.response.UID = req.UID
	b, err := encodeReview(rv.APIVersion, out.response)
	if err != nil {
		// Cannot happen with these types; admit without a patch all the same.
		out = failOpen(out, "encode", err)
		b, _ = encodeReview(rv.APIVersion, out.response)
	}
	w.Header().Set("Content-Type", "application/json")
	if _, err := w.Write(b); err != nil {
		h.opts.Log.Warn("write admission response", "uid", req.UID, "err", err)
	}
	if !req.DryRun {
		h.report(&out)
	}

	d := time.Since(start)
	h.opts.Metrics.observe(out.result, out.reason, d)
	level := slog.LevelInfo
	attrs := []any{"uid", req.UID, "namespace", req.Namespace, "pod", out.pod,
		"owner", out.ownerName(), "result", out.result, "reason", out.reason, "dryRun", req.DryRun,
		"duration", d}
	if out.notice != nil {
		attrs = append(attrs, "unmonitored", out.notice.event)
	}
	if out.err != nil {
		level = slog.LevelWarn
		attrs = append(attrs, "err", out.err)
	}
	h.opts.Log.Log(context.Background(), level, "admission", attrs...)
	return http.StatusOK, nil
}

// admissionContext bounds the admission by the time the API server waits
// for the answer: it says so in the timeout query parameter (the webhook
// configuration's timeoutSeconds, rounded up to a second), and an answer
// that comes later is dropped, the pod admitted unmonitored without a word.
// The owner and image lookups, each with a budget of its own, then also end
// in time for the answer, with a margin for writing it.
func admissionContext(r *http.Request, start time.Time) (context.Context, context.CancelFunc) {
	timeout, err := time.ParseDuration(r.URL.Query().Get("timeout"))
	if err != nil || timeout <= 0 {
		return r.Context(), func() {}
	}
	margin := min(timeout/10, 250*time.Millisecond)
	return context.WithDeadline(r.Context(), start.Add(timeout-margin))
}

// readBody reads the request body, at most MaxBodyBytes, in one buffer of
// the size Content-Length announces when the client sent one (the API
// server does): net/http ends such a body after that many bytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body := http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	if n := r.ContentLength; n > 0 && n <= MaxBodyBytes {
		buf := make([]byte, n)
		if _, err := io.ReadFull(body, buf); err != nil {
			return nil, err
		}
		return buf, nil
	}
	return io.ReadAll(body)
}
