//go:build bench

package main

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// agent writes figures 5 to 8.
func (rp *report) agent() {
	rp.printf("## Agent\n\n### 5. Start-to-exit time\n\n| command | median | added over bare `true` |\n|---|---|---|\n")
	bare, bok := rp.m("agent/exec/true")
	for _, row := range []struct{ key, label string }{
		{"true", "`/bin/true` (bare)"},
		{"hello", "an empty static Go program (the floor of any Go binary)"},
		{"run", "`jobcheck run -- /bin/true`, no Pushgateway"},
		{"run-pg", "`jobcheck run -- /bin/true`, real Pushgateway on loopback"},
		{"shell-pg", "`push-wrapper.sh` (sh + curl), real Pushgateway on loopback"},
	} {
		v, ok := rp.m("agent/exec/" + row.key)
		rp.printf("| %s | %s | %s |\n", row.label, num(v, ok, "%.2f ms"), num(v-bare, ok && bok, "%+.2f ms"))
	}
	rp.printf("\n")
	added, aok := rp.m("agent/exec/added")
	hello, hok := rp.m("agent/exec/hello")
	run, rok := rp.m("agent/exec/run")
	rp.add(goal{figure: "5", what: "`jobcheck run` added start-to-exit time, no Pushgateway", measured: num(added, aok, "%.2f ms"),
		peer: num(bare, bok, "%.2f ms bare `true`"), ratio: func() string { _, _, s := ratio(run, bare, rok, bok); return s }(),
		want: "< 3 ms added", met: judged(added < 3, aok),
		why: fmt.Sprintf("Starting any Go program costs %s here (empty static Go main, against %s for `true`); the wrapper adds its own "+
			"set-up (signals, the heartbeat, the child's pipes) and the child's fork and exec on top.", num(hello, hok, "%.2f ms"), num(bare, bok, "%.2f ms")) + rp.initCost()})
	pg, pok := rp.m("agent/exec/run-pg")
	sh, sok := rp.m("agent/exec/shell-pg")
	pr, prok, ps := ratio(pg, sh, pok, sok)
	rp.add(goal{figure: "5", what: "`jobcheck run` with a Pushgateway, against sh + curl", measured: num(pg, pok, "%.2f ms"), peer: num(sh, sok, "%.2f ms"),
		ratio: ps, want: "< 1x (faster)", met: judged(pr < 1, prok),
		why: "Both push twice and read the failure count back once over loopback HTTP."})

	rp.printf("### 6. Wrapper memory while its child runs\n\n")
	rss, rsok := rp.m("agent/rss/sleep/vmrss")
	hwm, hwok := rp.m("agent/rss/sleep/vmhwm")
	rp.printf("`jobcheck run` (pushing to a Pushgateway) around `sleep 1`: highest VmRSS %s, VmHWM %s (the wrapper alone, its child not included).\n\n",
		mib(rss, rsok), mib(hwm, hwok))
	rp.add(goal{figure: "6", what: "wrapper resident memory (VmHWM) while the child runs", measured: mib(hwm, hwok), peer: "-", ratio: "-",
		want: "< 10 MiB", met: judged(hwm < 10*1024, hwok),
		why: "The Go runtime's own heap and stacks, the Prometheus client and the HTTP client used for the pushes."})

	rp.printf("### 7. Liveness probe run time\n\n| probe | median |\n|---|---|\n")
	pt, ptok := rp.m("agent/probe/true")
	pj, pjok := rp.m("agent/probe/jobcheck")
	ps2, ps2ok := rp.m("agent/probe/shell")
	rp.printf("| `/bin/true` (bare) | %s |\n| `jobcheck probe` | %s |\n| `sh -c 'test -n \"$(find FILE -mmin -60)\"'` | %s |\n\n",
		num(pt, ptok, "%.2f ms"), num(pj, pjok, "%.2f ms"), num(ps2, ps2ok, "%.2f ms"))
	qr, qok, qs := ratio(pj, ps2, pjok, ps2ok)
	rp.add(goal{figure: "7", what: "`jobcheck probe` against the shell probe", measured: num(pj, pjok, "%.2f ms"), peer: num(ps2, ps2ok, "%.2f ms"),
		ratio: qs, want: "< 1x and a few ms (<= 5 ms over bare `true`)", met: judged(qr < 1 && pj-pt <= 5, qok, ptok),
		why: fmt.Sprintf("An empty Go program takes %s to start here; the shell probe forks twice (sh, find) but loads no libraries.", num(hello, hok, "%.2f ms")) + rp.initCost()})

	rp.printf("### 8. Size\n\n| artefact | size |\n|---|---|\n")
	ab, abok := rp.m("size/agent")
	hb, hbok := rp.m("size/hello")
	img, iok := rp.m("image/agent/total")
	layer, lok := rp.m("image/agent/layer")
	rp.printf("| agent binary (static, stripped) | %s |\n| empty Go program built the same way (floor) | %s |\n| agent image, compressed (layer %s) | %s |\n\n",
		mibBytes(ab, abok), mibBytes(hb, hbok), mibBytes(layer, lok), mibBytes(img, iok))
	_, _, bs := ratio(ab, hb, abok, hbok)
	origins := rp.sizeOrigins()
	sizeWhy := fmt.Sprintf("An empty static Go program is %s; the rest is the agent's code and what it links.", mibBytes(hb, hbok))
	if len(origins) > 0 {
		rp.printf("Where the agent's code and read-only data come from (`go tool nm -size` of an unstripped build, symbols of type T and R; " +
			"the rest of the file is the runtime's tables for them):\n\n| origin | size |\n|---|---|\n")
		var top []string
		for _, o := range origins[:min(10, len(origins))] {
			rp.printf("| %s | %s |\n", o.name, mibBytes(o.bytes, true))
			if len(top) < 4 {
				top = append(top, fmt.Sprintf("%s %s", o.name, mibBytes(o.bytes, true)))
			}
		}
		rp.printf("\n")
		sizeWhy += " The largest contributors: " + strings.Join(top, ", ") +
			" (std/crypto and std/net come with net/http's client for the pushes; protobuf and prometheus/common with client_golang)."
	}
	rp.add(goal{figure: "8", what: "static agent binary", measured: mibBytes(ab, abok), peer: mibBytes(hb, hbok) + " empty Go program", ratio: bs,
		want: "< 8 MiB", met: judged(ab < 8<<20, abok), why: sizeWhy})
	rp.add(goal{figure: "8", what: "agent image (compressed)", measured: mibBytes(img, iok), peer: "-", ratio: "-",
		want: "< 8 MiB", met: judged(img < 8<<20, iok), why: "The image is one layer holding only /jobcheck; it is what the binary compresses to."})
}

func mibBytes(b float64, ok bool) string { return num(b/(1<<20), ok, "%.2f MiB") }

// initCost says how long package initialisation takes before the agent's main,
// and which packages take most of it.
func (rp *report) initCost() string {
	done, ok := rp.m("agent/init/done")
	if !ok {
		return ""
	}
	type pkg struct {
		name string
		ms   float64
	}
	var pkgs []pkg
	for k := range rp.r {
		if name, found := strings.CutPrefix(k, "agent/init/pkg/"); found {
			v, _ := rp.m(k)
			pkgs = append(pkgs, pkg{name, v})
		}
	}
	slices.SortFunc(pkgs, func(a, b pkg) int { return cmp.Compare(b.ms, a.ms) })
	var top []string
	for _, p := range pkgs[:min(4, len(pkgs))] {
		top = append(top, fmt.Sprintf("%s %.2f ms", p.name, p.ms))
	}
	total, _ := rp.m("agent/init/total")
	return fmt.Sprintf(" Before main runs, the agent's package initialisers take %.2f ms of CPU time (GODEBUG=inittrace=1, median; "+
		"the last ends %.2f ms after the process starts, tracing included); the largest: %s.", total, done, strings.Join(top, ", "))
}

type origin struct {
	name  string
	bytes float64
}

// sizeOrigins lists the agent's symbol sizes by origin, largest first.
func (rp *report) sizeOrigins() []origin {
	var out []origin
	for k := range rp.r {
		if name, ok := strings.CutPrefix(k, "size/module/"); ok {
			v, _ := rp.m(k)
			out = append(out, origin{name, v})
		}
	}
	slices.SortFunc(out, func(a, b origin) int { return cmp.Compare(b.bytes, a.bytes) })
	return out
}
