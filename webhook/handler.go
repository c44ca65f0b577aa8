// Package webhook is jobcheck's mutating admission webhook: the /mutate
// handler (AdmissionReview in, JSON patch out), the Job and CronJob owner
// lookup, the Prometheus metrics and the health endpoints. It is fail-open:
// whatever goes wrong inside, a pod is admitted, never denied.
package webhook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"time"

	"github.com/jobcheck/jobcheck/inject"
)

// MaxBodyBytes bounds an AdmissionReview body; the API server's own request
// limit is 3 MiB, so a legitimate review always fits.
const MaxBodyBytes = 4 << 20

// Options configure a Handler.
type Options struct {
	Inject        inject.Config // the defaults annotations override
	Owners        Owners        // finds a pod's Job and CronJob
	Metrics       *Metrics
	Log           *slog.Logger
	LookupTimeout time.Duration // bound on one owner lookup; 3s when zero
}

// Handler answers POST /mutate.
type Handler struct {
	opts   Options
	mutate func(*podInput) inject.Result // inject.Pod; replaced in tests
}

// NewHandler returns the /mutate handler.
func NewHandler(o Options) *Handler {
	if o.LookupTimeout <= 0 {
		o.LookupTimeout = 3 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Handler{opts: o, mutate: func(in *podInput) inject.Result {
		return inject.Pod(in.pod, in.owner, in.cfg)
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
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return http.StatusRequestEntityTooLarge, fmt.Errorf("body larger than %d bytes", MaxBodyBytes)
		}
		return http.StatusBadRequest, fmt.Errorf("read body: %w", err)
	}
	review, apiVersion, err := decodeReview(body)
	if err != nil {
		return http.StatusBadRequest, err
	}

	out := h.admit(r.Context(), review.Request)
	out.response.UID = review.Request.UID
	b, err := encodeReview(apiVersion, out.response)
	if err != nil {
		// Cannot happen with these types; admit without a patch all the same.
		out = failOpen(out, "encode", err)
		b, _ = encodeReview(apiVersion, out.response)
	}
	w.Header().Set("Content-Type", "application/json")
	if _, err := w.Write(b); err != nil {
		h.opts.Log.Warn("write admission response", "uid", review.Request.UID, "err", err)
	}

	d := time.Since(start)
	h.opts.Metrics.observe(out.result, out.reason, d)
	level := slog.LevelInfo
	attrs := []any{"uid", review.Request.UID, "namespace", review.Request.Namespace, "pod", out.pod,
		"owner", out.owner, "result", out.result, "reason", out.reason, "dryRun", review.Request.DryRun != nil && *review.Request.DryRun,
		"duration", d}
	if out.err != nil {
		level = slog.LevelWarn
		attrs = append(attrs, "err", out.err)
	}
	h.opts.Log.Log(context.Background(), level, "admission", attrs...)
	return http.StatusOK, nil
}
