package webhook

import (
	"fmt"
	"net/http"
	"strings"
)

// Check is one condition of readiness, named in /readyz's answer.
type Check struct {
	Name  string
	Ready func() bool
}

// OpsHandler serves the plain-HTTP operations endpoints: /healthz (the process
// answers), /readyz (every check passes: 503 naming the ones that do not) and
// /metrics.
func OpsHandler(m *Metrics, checks ...Check) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		var failing []string
		for _, c := range checks {
			if !c.Ready() {
				failing = append(failing, c.Name)
			}
		}
		if len(failing) > 0 {
			http.Error(w, "not ready: "+strings.Join(failing, ", "), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.Handle("GET /metrics", m.Handler())
	return mux
}
