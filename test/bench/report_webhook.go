//go:build bench

package main

import (
	"fmt"
	"slices"
	"strings"
)

// webhook writes the webhook's figures, 6 to 10.
func (rp *report) webhook() {
	rp.printf("## Webhook\n\n")
	rp.throughput()
	rp.podCreation()
	rp.webhookMemory()
	rp.imageLookup()
	rp.goBenchmarks()
}

// concurrencies are the load runs' numbers of workers (connections).
var concurrencies = []int{1, 16, 64}

func (rp *report) throughput() {
	rp.printf("### 6. POST /mutate over TLS keep-alive, against the decode-only floor\n\n")
	rp.printf("| pod | concurrency | jobcheck adm/s | floor adm/s | ratio | jobcheck p50 | floor p50 | jobcheck p99 | floor p99 | p99 ratio |\n|---|---|---|---|---|---|---|---|---|---|\n")
	type worst struct {
		tput, p99     float64
		tputAt, p99At int
		measured      bool
	}
	worsts := map[int]*worst{}
	for _, c := range []int{1, 10} {
		w := &worst{}
		worsts[c] = w
		for _, conc := range concurrencies {
			k := func(s, v string) string { return fmt.Sprintf("webhook/%dc/%s/c%d/%s", c, s, conc, v) }
			rr, rok := rp.m(k("real", "rps"))
			fr, fok := rp.m(k("floor", "rps"))
			r50, r50ok := rp.m(k("real", "p50"))
			f50, f50ok := rp.m(k("floor", "p50"))
			r99, r99ok := rp.m(k("real", "p99"))
			f99, f99ok := rp.m(k("floor", "p99"))
			tr, tok, ts := ratio(rr, fr, rok, fok)
			pr, pok, ps := ratio(r99, f99, r99ok, f99ok)
			rp.printf("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |\n", podLabel(c), conc,
				num(rr, rok, "%.0f"), num(fr, fok, "%.0f"), ts,
				num(r50, r50ok, "%.2f ms"), num(f50, f50ok, "%.2f ms"), num(r99, r99ok, "%.2f ms"), num(f99, f99ok, "%.2f ms"), ps)
			if tok && pok {
				if !w.measured || tr < w.tput {
					w.tput, w.tputAt = tr, conc
				}
				if !w.measured || pr > w.p99 {
					w.p99, w.p99At = pr, conc
				}
				w.measured = true
			}
		}
	}
	rp.printf("\nThe goals take the worst concurrency of each pod.\n\n")
	call, callOK := rp.m("gobench/test/bench.BenchmarkAdmission/real-1-container/ns/op")
	floorCall, floorOK := rp.m("gobench/test/bench.BenchmarkAdmission/floor-1-container/ns/op")
	call10, call10OK := rp.m("gobench/test/bench.BenchmarkAdmission/real-10-containers/ns/op")
	floor10, floor10OK := rp.m("gobench/test/bench.BenchmarkAdmission/floor-10-containers/ns/op")
	why := fmt.Sprintf("Client, both servers and TLS share the machine's CPUs, so throughput follows CPU time per request. Beyond the floor's "+
		"decode, each admission looks up the owner, runs inject.Pod, writes the JSON patch, updates the metrics and writes a JSON log line: "+
		"one handler call costs %s against the floor's %s for 1 container, %s against %s for 10 (figure 10).",
		num(call/1000, callOK, "%.0f µs"), num(floorCall/1000, floorOK, "%.0f µs"), num(call10/1000, call10OK, "%.0f µs"), num(floor10/1000, floor10OK, "%.0f µs"))
	if hot := hotspot(rp.profile); hot != "" {
		why += " The CPU profile of one handler call (1 container) points at " + hot + "; see figure 10."
	}
	w1, w10 := worsts[1], worsts[10]
	rp.add(goal{figure: "6", what: fmt.Sprintf("webhook throughput, injected 1-container Job pod (worst: concurrency %d)", w1.tputAt),
		measured: num(w1.tput, w1.measured, "%.2fx the floor"), peer: "decode-only floor", ratio: num(w1.tput, w1.measured, "%.2fx"),
		want: ">= 0.7x", met: judged(w1.tput >= 0.7, w1.measured), why: why})
	rp.add(goal{figure: "6", what: fmt.Sprintf("webhook p99, injected 1-container Job pod (worst: concurrency %d)", w1.p99At),
		measured: num(w1.p99, w1.measured, "%.2fx the floor's"), peer: "decode-only floor", ratio: num(w1.p99, w1.measured, "%.2fx"),
		want: "<= 1.5x", met: judged(w1.p99 <= 1.5, w1.measured), why: why})
	rp.add(goal{figure: "6", what: fmt.Sprintf("webhook throughput, injected 10-container pod (worst: concurrency %d)", w10.tputAt),
		measured: num(w10.tput, w10.measured, "%.2fx the floor"), peer: "decode-only floor", ratio: num(w10.tput, w10.measured, "%.2fx"),
		want: ">= 0.5x", met: judged(w10.tput >= 0.5, w10.measured), why: why})
}

func podLabel(containers int) string {
	if containers == 1 {
		return "1 container"
	}
	return fmt.Sprintf("%d containers", containers)
}

func (rp *report) podCreation() {
	rp.printf("### 7. Creating Job-owned pods through the real kube-apiserver\n\n")
	with, wok, ws := rp.ms("apiserver/create/with")
	without, wook, wos := rp.ms("apiserver/create/without")
	added, aok := rp.m("apiserver/create/added")
	rp.printf("| | median create latency |\n|---|---|\n| webhook called (labelled namespace) | %s |\n| webhook not called (unlabelled namespace) | %s |\n| **added by the webhook** | **%s** |\n\n",
		ws, wos, num(added, aok, "%.2f ms"))
	_, _, direct := rp.ms("webhook/direct/empty/p50")
	_, _, handler := rp.ms("apiserver/handler/mean")
	rp.printf("The webhook's own histogram (`jobcheck_webhook_admission_duration_seconds`) puts the time inside its handler at %s per admission on average during these rounds.\n\n", handler)
	rp.add(goal{figure: "7", what: "pod creation through the real kube-apiserver, median added", measured: num(added, aok, "%.2f ms"),
		peer: wos + " without the webhook", ratio: func() string { _, _, s := ratio(with, without, wok, wook); return s }(),
		want: "< 2 ms", met: judged(added < 2, aok),
		why: fmt.Sprintf("The added time is the API server's call to the webhook (POST /mutate straight to the same process: %s at the median; "+
			"its handler's own histogram: %s on average during these rounds) plus the API server's own work for it: encoding the "+
			"AdmissionReview, decoding and applying the patch, and validating and storing a larger pod (init container, volume, env, "+
			"probe and hook added). On a loaded machine every process wake-up adds scheduling delay.", direct, handler)})
}

// tiers are the cluster sizes of the webhook-memory and cached-Jobs figures.
var tiers = []string{"empty", "1k", "10k"}

func (rp *report) webhookMemory() {
	rp.printf("### 8. Webhook memory: the peak while its informers fill at start, against its steady state\n\n" +
		"`jobcheck-webhook serve` as deployed: informers on Jobs, CronJobs and injected pods, the run watcher leading, image lookup on. " +
		"Restarted for each row, so that it lists everything at start. The largest row is read once a garbage collection after the " +
		"start has run and the Go runtime has had 10 s to return what it freed (a process that allocates as little as this one " +
		"collects next when the runtime forces it, 2 minutes after the last collection of the start); the others after a fixed pause.\n\n" +
		"| cluster holds | VmHWM (peak) | VmRSS (steady) | peak / steady | read after | Go heap in use | requests that filled the Job informer |\n|---|---|---|---|---|---|---|\n")
	for _, t := range tiers {
		rss, rok := rp.m("webhook/rss/" + t + "/vmrss")
		hwm, hok := rp.m("webhook/rss/" + t + "/vmhwm")
		heap, hpok := rp.m("webhook/heap/" + t + "/inuse")
		secs, sok := rp.m("webhook/settle/" + t + "/seconds")
		gcs, gok := rp.m("webhook/settle/" + t + "/gc")
		_, _, r := ratio(hwm, rss, hok, rok)
		after := num(secs, sok, "%.0f s")
		if gok {
			after += fmt.Sprintf(" (%.0f GC)", gcs)
		}
		rp.printf("| %s | %s | %s | %s | %s | %s | %s |\n", rp.tierLabel(t), mib(hwm, hok), mib(rss, rok), r, after, mibBytes(heap, hpok), rp.fill(t))
	}
	rp.printf("\nGo heap in use is the webhook's own `go_memstats_heap_inuse_bytes`: live objects, the caches among them.\n\n")
	rss, rok := rp.m("webhook/rss/10k/vmrss")
	hwm, hok := rp.m("webhook/rss/10k/vmhwm")
	heap, hpok := rp.m("webhook/heap/10k/inuse")
	erss, erok := rp.m("webhook/rss/empty/vmrss")
	ehwm, ehok := rp.m("webhook/rss/empty/vmhwm")
	r, rk, rs := ratio(hwm, rss, hok, rok)
	above, aok, _ := ratio(hwm-ehwm, rss-erss, hok && ehok, rok && erok)
	var unmeasured string
	if gcs, gok := rp.m("webhook/settle/10k/gc"); gok && gcs == 0 {
		rk = false // the steady state was not reached: the ratio would say nothing
		secs, sok := rp.m("webhook/settle/10k/seconds")
		unmeasured = fmt.Sprintf("No garbage collection ran in the %s waited for one (BENCH_STEADY_SECONDS): the webhook never reached its steady state.",
			num(secs, sok, "%.0f s"))
	}
	rp.add(goal{figure: "8", what: "webhook peak (VmHWM) while listing " + rp.tierLabel("10k") + " at start, against its steady state",
		measured: mib(hwm, hok), peer: mib(rss, rok) + " steady (VmRSS)", ratio: rs, want: "< 1.3x", met: judged(r < 1.3, rk), unmeasured: unmeasured,
		why: fmt.Sprintf("Of the steady %s, %s is live Go heap; with an empty cluster the process peaks at %s and settles at %s, so the "+
			"objects cost %s at the peak against %s steady (%s). The Job informer was filled by %s (a list in pages, or one watch-list "+
			"stream, which needs etcd 3.4.31 or 3.5.13 and later: see Machine): what the peak holds on top of the steady state is the "+
			"garbage of the pages or events decoded before the collector ran.",
			mib(rss, rok), mibBytes(heap, hpok), mib(ehwm, ehok), mib(erss, erok), mib(hwm-ehwm, hok && ehok), mib(rss-erss, rok && erok),
			num(above, aok, "%.2fx"), rp.fill("10k"))})
}

// fill says which requests filled the Job informer at a tier's start.
func (rp *report) fill(tier string) string {
	lists, lok := rp.m("webhook/fill/" + tier + "/jobs/LIST")
	watches, wok := rp.m("webhook/fill/" + tier + "/jobs/WATCH")
	if !lok || !wok {
		return "n/a"
	}
	return fmt.Sprintf("%.0f LIST, %.0f WATCH", lists, watches)
}

func (rp *report) imageLookup() {
	rp.printf("### 9. Admission of a pod whose container has no command\n\nPOST /mutate straight to the real webhook process (TLS keep-alive, " +
		"one request at a time), the three kinds interleaved: a pod whose container has a command (no lookup), and pods whose container has " +
		"none, so that the webhook reads its image's ENTRYPOINT from a registry on loopback (go-containerregistry's, plain HTTP): the same " +
		"image every time (cached), or a new image every time (a manifest and a config to read). Every answer was checked to wrap the image's entrypoint.\n\n" +
		"| pod | requests | p50 | p99 |\n|---|---|---|---|\n")
	for _, row := range []struct{ key, label string }{
		{"command", "container with a command"},
		{"cached", "no command, image already looked up (cached)"},
		{"first", "no command, image looked up for the first time"},
	} {
		n, nok := rp.m("image/lookup/" + row.key + "/n")
		_, _, p50 := rp.ms("image/lookup/" + row.key + "/p50")
		_, _, p99 := rp.ms("image/lookup/" + row.key + "/p99")
		rp.printf("| %s | %s | %s | %s |\n", row.label, num(n, nok, "%.0f"), p50, p99)
	}
	rp.printf("\n")
	cmd, cok, cs := rp.ms("image/lookup/command/p50")
	hit, hok, hs := rp.ms("image/lookup/cached/p50")
	miss, mok, ms := rp.ms("image/lookup/first/p50")
	_, _, hr := ratio(hit, cmd, hok, cok)
	_, _, mr := ratio(miss, cmd, mok, cok)
	rp.add(goal{figure: "9", what: "admission latency (p50), container without a command: image cached / first time",
		measured: hs + " / " + ms, peer: cs + " with a command", ratio: hr + " / " + mr, want: "report", met: judged(true, cok && hok && mok), reported: true})
}

func (rp *report) goBenchmarks() {
	rp.printf("### 10. Go benchmarks\n\n| benchmark | ns/op | B/op | allocs/op |\n|---|---|---|---|\n")
	for _, name := range rp.benchmarks() {
		ns, nok := rp.m(name + "/ns/op")
		b, bok := rp.m(name + "/B/op")
		al, alok := rp.m(name + "/allocs/op")
		rp.printf("| `%s` | %s | %s | %s |\n", name[len("gobench/"):], num(ns, nok, "%.0f"), num(b, bok, "%.0f"), num(al, alok, "%.0f"))
	}
	call, callOK := rp.m("gobench/test/bench.BenchmarkAdmission/real-1-container/ns/op")
	floorCall, floorOK := rp.m("gobench/test/bench.BenchmarkAdmission/floor-1-container/ns/op")
	_, _, cs := ratio(call, floorCall, callOK, floorOK)
	rp.printf("\nOne handler call (1 container) against the floor's: %s.\n\n", cs)
	if len(rp.profile) > 0 {
		rp.printf("Where one real handler call spends its CPU time (`go tool pprof -top -cum` of `BenchmarkAdmission/real-1-container`, runtime frames left out):\n\n```\n")
		for _, f := range rp.profile[:min(14, len(rp.profile))] {
			rp.printf("%5.1f%%  %s\n", f.cum, f.name)
		}
		rp.printf("```\n\n")
	}
}

// tierLabel says what the cluster held at a tier, from the counts recorded.
func (rp *report) tierLabel(tier string) string {
	jobs, ok := rp.m("webhook/tier/" + tier + "/jobs")
	if !ok {
		return map[string]string{"empty": "no Jobs", "1k": "1,000 Jobs", "10k": "the most Jobs and CronJobs"}[tier]
	}
	cron, _ := rp.m("webhook/tier/" + tier + "/cronjobs")
	var s string
	switch {
	case jobs == 0:
		s = "no Jobs but the two owners"
	case cron == 0:
		s = fmt.Sprintf("%s Jobs", thousands(jobs))
	default:
		s = fmt.Sprintf("%s Jobs and %s CronJobs", thousands(jobs), thousands(cron))
	}
	if pods, ok := rp.m("webhook/tier/" + tier + "/pods"); ok && tier == tiers[0] {
		s += fmt.Sprintf(" (and %s injected pods, throughout)", thousands(pods))
	}
	return s
}

// thousands writes n with a comma every three digits.
func thousands(n float64) string {
	s := fmt.Sprintf("%.0f", n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// benchmarks lists the Go benchmarks measured, sorted.
func (rp *report) benchmarks() []string {
	seen := map[string]bool{}
	var names []string
	for k := range rp.r {
		for _, unit := range []string{"/ns/op", "/B/op", "/allocs/op"} {
			if base, ok := strings.CutSuffix(k, unit); ok && strings.HasPrefix(base, "gobench/") && !seen[base] {
				seen[base] = true
				names = append(names, base)
			}
		}
	}
	slices.Sort(names)
	return names
}
