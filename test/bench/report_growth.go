//go:build bench

package main

import (
	"fmt"
	"slices"
)

// growth writes figure 11: how the webhook's latency and memory grow, and
// their shape (the wrapper's memory against its child's output is figure 3).
func (rp *report) growth() {
	rp.printf("## Growth\n\n### 11a. Webhook latency against containers in the pod (concurrency 1)\n\n| containers | jobcheck p50 | floor p50 | jobcheck p99 |\n|---|---|---|---|\n")
	var xs, real, floor []float64
	for _, c := range []int{1, 10, 50} {
		r, rok := rp.m(fmt.Sprintf("webhook/%dc/real/c1/p50", c))
		f, fok := rp.m(fmt.Sprintf("webhook/%dc/floor/c1/p50", c))
		r99, r99ok := rp.m(fmt.Sprintf("webhook/%dc/real/c1/p99", c))
		rp.printf("| %d | %s | %s | %s |\n", c, num(r, rok, "%.3f ms"), num(f, fok, "%.3f ms"), num(r99, r99ok, "%.3f ms"))
		if rok && fok {
			xs, real, floor = append(xs, float64(c)), append(real, r), append(floor, f)
		}
	}
	rp.printf("\nShape: jobcheck %s; the floor %s.\n\n", shape(xs, real, "ms", "container"), shape(xs, floor, "ms", "container"))

	rp.printf("### 11b. Webhook against the number of Jobs cached\n\n| cluster holds | POST /mutate p50 | p99 | VmRSS |\n|---|---|---|---|\n")
	xs, real = nil, nil
	var mem []float64
	spread := 0.0
	for _, t := range tiers {
		p50, ok := rp.m("webhook/direct/" + t + "/p50")
		p99, ok99 := rp.m("webhook/direct/" + t + "/p99")
		rss, rok := rp.m("webhook/rss/" + t + "/vmrss")
		jobs, jok := rp.m("webhook/tier/" + t + "/jobs")
		rp.printf("| %s | %s | %s | %s |\n", rp.tierLabel(t), num(p50, ok, "%.3f ms"), num(p99, ok99, "%.3f ms"), mib(rss, rok))
		if ok && rok && jok {
			xs, real, mem = append(xs, jobs/1000), append(real, p50), append(mem, rss/1024)
			spread = max(spread, rp.spread("webhook/direct/"+t+"/p50"))
		}
	}
	latency := shape(xs, real, "ms", "1,000 Jobs")
	if len(real) > 1 && abs(real[len(real)-1]-real[0]) <= spread {
		latency = fmt.Sprintf("flat within the run-to-run spread (%.3g to %.3g ms, while repeated runs of one point differ by up to %.3g ms)",
			real[0], real[len(real)-1], spread)
	}
	rp.printf("\nShape: latency %s; memory %s.\n\n", latency, shape(xs, mem, "MiB", "1,000 Jobs"))
}

// spread is the largest minus the smallest of the runs of name.
func (rp *report) spread(name string) float64 {
	f, ok := rp.r[name]
	if !ok || len(f.Values) == 0 {
		return 0
	}
	return slices.Max(f.Values) - slices.Min(f.Values)
}

func abs(v float64) float64 { return max(v, -v) }
