//go:build bench

package main

import (
	"fmt"
	"strings"
	"testing"
)

// goalsOf renders the report of r and returns its goals.
func goalsOf(r results) []goal {
	rp := &report{r: r}
	rp.agent()
	rp.webhook()
	rp.growth()
	return rp.goals
}

// verdictOf is the verdict of the first goal whose description starts with what.
func verdictOf(t *testing.T, goals []goal, what string) string {
	t.Helper()
	for _, g := range goals {
		if strings.HasPrefix(g.what, what) {
			if g.reported && g.met != nil {
				return "reported"
			}
			return verdict(g.met)
		}
	}
	t.Fatalf("no goal %q", what)
	return ""
}

func fig(vals ...float64) *figure { return &figure{Values: vals} }

func TestGoalsJudged(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    results
		goal string
		want string
	}{
		{"probe within 1.3x of the empty program", results{"agent/probe/ratio/empty": fig(1.25, 1.2, 1.4)}, "`jobcheck probe`", "yes"},
		{"probe above 1.3x", results{"agent/probe/ratio/empty": fig(1.35, 1.31, 1.2)}, "`jobcheck probe`", "**no**"},
		{"probe not measured", results{}, "`jobcheck probe`", "not measured"},
		{"run added under 1.5 ms", results{"agent/exec/added/run": fig(1.4)}, "`jobcheck run -- true`, no Pushgateway", "yes"},
		{"run added over 1.5 ms", results{"agent/exec/added/run": fig(2.2)}, "`jobcheck run -- true`, no Pushgateway", "**no**"},
		{"attempt mode is reported", results{"agent/exec/added/attempt-pg": fig(2.2)}, "`jobcheck run -- true`, attempt mode", "reported"},
		{"binary under 5 MiB", results{"size/agent/linux/amd64": fig(5<<20 - 1)}, "agent binary, static, stripped, linux/amd64", "yes"},
		{"binary of 5 MiB", results{"size/agent/linux/arm/v7": fig(5 << 20)}, "agent binary, static, stripped, linux/arm/v7", "**no**"},
		{"wrapper memory flat and small", memory(5000, 5100, 5200, 5300), "wrapper resident memory", "yes"},
		{"wrapper memory grows with output", memory(5000, 5100, 5200, 5600), "wrapper resident memory", "**no**"},
		{"wrapper memory too large", memory(6200, 6200, 6200, 6200), "wrapper resident memory", "**no**"},
		{"read-back within 1 MiB", results{"agent/readback/full/false/vmhwm": fig(6000), "agent/readback/empty/false/vmhwm": fig(5000)}, "agent peak (VmHWM)", "yes"},
		{"read-back over 1 MiB", results{"agent/readback/full/false/vmhwm": fig(6100), "agent/readback/empty/false/vmhwm": fig(5000)}, "agent peak (VmHWM)", "**no**"},
		{"webhook throughput judged at its worst concurrency", throughput(1, 0.9, 0.69, 0.8), "webhook throughput, injected 1-container", "**no**"},
		{"webhook throughput at every concurrency", throughput(1, 0.9, 0.71, 0.8), "webhook throughput, injected 1-container", "yes"},
		{"10-container throughput", throughput(10, 0.6, 0.55, 0.51), "webhook throughput, injected 10-container", "yes"},
		{"webhook peak under 1.3x steady", results{"webhook/rss/10k/vmhwm": fig(90000), "webhook/rss/10k/vmrss": fig(70000)}, "webhook peak (VmHWM)", "yes"},
		{"webhook peak over 1.3x steady", results{"webhook/rss/10k/vmhwm": fig(91000), "webhook/rss/10k/vmrss": fig(70000)}, "webhook peak (VmHWM)", "**no**"},
		{"pod creation", results{"apiserver/create/added": fig(1.9, 2.5, 1.5)}, "pod creation", "yes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := verdictOf(t, goalsOf(tc.r), tc.goal); got != tc.want {
				t.Errorf("verdict %s, want %s", got, tc.want)
			}
		})
	}
}

// memory is the wrapper's VmHWM (KiB) at each output rate, slowest first.
func memory(hwm ...float64) results {
	r := results{}
	for i, rate := range outputRates {
		r["agent/mem/output/"+rateKey(rate)+"/vmhwm"] = fig(hwm[i])
	}
	return r
}

// throughput is the load runs of a pod of c containers whose throughput is
// ratios[i] of the floor's at concurrencies[i], with the same p99.
func throughput(c int, ratios ...float64) results {
	r := results{}
	for i, conc := range concurrencies {
		k := func(server, v string) string { return fmt.Sprintf("webhook/%dc/%s/c%d/%s", c, server, conc, v) }
		r[k("real", "rps")], r[k("floor", "rps")] = fig(1000*ratios[i]), fig(1000)
		r[k("real", "p99")], r[k("floor", "p99")] = fig(1), fig(1)
	}
	return r
}

// A report with nothing measured still renders every section, and says
// that each goal was not measured instead of inventing a figure.
func TestReportWithNothingMeasured(t *testing.T) {
	rp := &report{r: results{}}
	rp.agent()
	rp.webhook()
	rp.growth()
	var doc strings.Builder
	rp.summary(&doc)
	rp.missed(&doc)
	for _, g := range rp.goals {
		if g.met != nil {
			t.Errorf("goal %q judged %v with nothing measured", g.what, *g.met)
		}
	}
	if strings.Contains(doc.String()+rp.body.String(), "NaN") || strings.Contains(doc.String(), "Inf") {
		t.Errorf("report of nothing shows NaN or Inf:\n%s", doc.String())
	}
	if n := strings.Count(doc.String(), "not measured."); n != len(rp.goals) {
		t.Errorf("%d goals listed as not measured, want all %d", n, len(rp.goals))
	}
}

// Without a garbage collection after the start the webhook's steady state
// was not reached: its peak against it is not judged.
func TestWebhookPeakNeedsACollection(t *testing.T) {
	r := results{"webhook/rss/10k/vmhwm": fig(70000), "webhook/rss/10k/vmrss": fig(70000), "webhook/settle/10k/gc": fig(0), "webhook/settle/10k/seconds": fig(180)}
	if got := verdictOf(t, goalsOf(r), "webhook peak (VmHWM)"); got != "not measured" {
		t.Errorf("verdict %s without a collection, want not measured", got)
	}
	r["webhook/settle/10k/gc"] = fig(1)
	if got := verdictOf(t, goalsOf(r), "webhook peak (VmHWM)"); got != "yes" {
		t.Errorf("verdict %s after a collection, want yes", got)
	}
}
