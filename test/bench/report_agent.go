//go:build bench

package main

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// agent writes the agent's figures, 1 to 5.
func (rp *report) agent() {
	rp.printf("## Agent\n\n")
	rp.probe()
	rp.startToExit()
	rp.wrapperMemory()
	rp.readBack()
	rp.size()
}

// ms is a median in milliseconds, "n/a" when not measured.
func (rp *report) ms(name string) (float64, bool, string) {
	v, ok := rp.m(name)
	return v, ok, num(v, ok, "%.2f ms")
}

func (rp *report) probe() {
	rp.printf("### 1. Liveness probe run time\n\n| command | median | against the empty Go program |\n|---|---|---|\n")
	empty, eok, _ := rp.ms("agent/probe/empty")
	for _, row := range []struct{ key, label string }{
		{"true", "`/bin/true` (bare)"},
		{"empty", "an empty static Go program (floor)"},
		{"tls", "a static Go program that only links net and crypto/tls (floor)"},
		{"jobcheck", "`jobcheck probe`"},
		{"shell", "`sh -c 'test -n \"$(find SENTINEL -mmin -60)\"'`"},
	} {
		v, ok, s := rp.ms("agent/probe/" + row.key)
		_, _, r := ratio(v, empty, ok, eok)
		rp.printf("| %s | %s | %s |\n", row.label, s, r)
	}
	rp.printf("\nRatios in the goals are medians of the ratios within each round (the commands of a round run back to back).\n\n")
	probe, pok, ps := rp.ms("agent/probe/jobcheck")
	_, _, es := rp.ms("agent/probe/empty")
	tls, tok, ts := rp.ms("agent/probe/tls")
	_, _, shs := rp.ms("agent/probe/shell")
	re, reok := rp.m("agent/probe/ratio/empty")
	rs, rsok := rp.m("agent/probe/ratio/shell")
	_, _, tlsRatio := ratio(tls, empty, tok, eok)
	against := fmt.Sprintf("the probe takes %s more than that floor, its own work (flags, the environment, one stat)", num(probe-tls, pok && tok, "%.2f ms"))
	if probe < tls {
		against = fmt.Sprintf("the probe is within it (%s): what it pays over the empty program is what linking those packages costs "+
			"at every start, their initialisers and the pages of a larger binary", num(probe-tls, pok && tok, "%+.2f ms"))
	}
	why := fmt.Sprintf("An empty static Go program starts and exits in %s here; one that only links net and crypto/tls, as the agent must "+
		"for https Pushgateways, in %s (%s the empty one): that is the floor of the probe, and %s.", es, ts, tlsRatio, against) + rp.initCost()
	rp.add(goal{figure: "1", what: "`jobcheck probe`", measured: ps, peer: es + " (empty static Go program)",
		ratio: num(re, reok, "%.2fx"), want: "<= 1.3x", met: judged(re <= 1.3, reok), why: why})
	rp.add(goal{figure: "1", what: "`jobcheck probe` against the `sh` + `find -mmin` probe", measured: ps, peer: shs,
		ratio: num(rs, rsok, "%.2fx"), want: "< 1x (faster)", met: judged(rs < 1, rsok),
		why: "The shell probe forks twice (sh, then find) but loads no libraries; " + why})
}

func (rp *report) startToExit() {
	rp.printf("### 2. Start-to-exit time of `jobcheck run -- true`\n\n| command | median | added over bare `true` |\n|---|---|---|\n")
	for _, row := range []struct{ key, label string }{
		{"true", "`/bin/true` (bare)"},
		{"empty", "an empty static Go program (floor)"},
		{"tls", "a static Go program that only links net and crypto/tls (floor)"},
		{"forkexec", "the same, forking, execing and waiting for `true` (the floor of a Go wrapper: no pipes, signals, heartbeat or reporting)"},
		{"run", "`jobcheck run -- true`, no Pushgateway"},
		{"run-pg", "`jobcheck run -- true`, run mode, real Pushgateway on loopback (start and exit pushes)"},
		{"attempt-pg", "`jobcheck run --report attempt -- true`, real Pushgateway on loopback (the exit push)"},
		{"shell-pg", "`push-wrapper.sh` (sh + curl) around `true`, real Pushgateway on loopback (the same metrics as run mode)"},
	} {
		_, _, s := rp.ms("agent/exec/" + row.key)
		added := "+0.00 ms"
		if row.key != "true" {
			v, ok := rp.m("agent/exec/added/" + row.key)
			added = num(v, ok, "%+.2f ms")
		}
		rp.printf("| %s | %s | %s |\n", row.label, s, added)
	}
	push, pushOK, pushS := rp.ms("agent/push/one")
	rp.printf("\nAdded times are medians of the differences within each round. One push of an attempt's metrics from a warm process "+
		"(a connection of its own, as the agent makes it) to the same Pushgateway: %s (median).\n\n", pushS)

	_, _, bs := rp.ms("agent/exec/true")
	run, rok := rp.m("agent/exec/added/run")
	fe, fok := rp.m("agent/exec/added/forkexec")
	empty, eok := rp.m("agent/exec/added/empty")
	why := fmt.Sprintf("Starting any Go program costs %s over bare `true` here (the empty program); the floor of a Go wrapper, a static program "+
		"linking net and crypto/tls that only forks, execs and waits for `true`, adds %s: `jobcheck run` does %s more than that floor "+
		"(its signal handling from the first moment, two output pipes and their relays, the sentinel, the OOM counter).",
		num(empty, eok, "%.2f ms"), num(fe, fok, "%.2f ms"), num(run-fe, rok && fok, "%.2f ms")) + rp.initCost()
	rp.add(goal{figure: "2", what: "`jobcheck run -- true`, no Pushgateway, added over bare `true`", measured: num(run, rok, "%+.2f ms"),
		peer: bs + " bare `true`", ratio: "-", want: "< 1.5 ms", met: judged(run < 1.5, rok), why: why})

	runPG, rpok := rp.m("agent/exec/added/run-pg")
	att, aok := rp.m("agent/exec/added/attempt-pg")
	sh, sok := rp.m("agent/exec/added/shell-pg")
	rp.add(goal{figure: "2", what: "`jobcheck run -- true`, run mode, real Pushgateway on loopback, added over bare `true`",
		measured: num(runPG, rpok, "%+.2f ms"), peer: bs + " bare `true`", ratio: "-", want: "< 3 ms", met: judged(runPG < 3, rpok),
		why: fmt.Sprintf("Run mode pushes at start and at exit, and the exit push waits for the start push (so that `running 1` never lands "+
			"after `running 0`): a run as short as `true` pays for both in turn. They add %s over no Pushgateway (attempt mode's single "+
			"push: %s); one push from a warm process costs %s, nearly all of it the Pushgateway's own time.",
			num(runPG-run, rpok && rok, "%.2f ms"), num(att-run, aok && rok, "%.2f ms"), num(push, pushOK, "%.2f ms"))})
	rp.add(goal{figure: "2", what: "`jobcheck run -- true`, attempt mode (as the webhook sets it), added over bare `true`",
		measured: num(att, aok, "%+.2f ms"), peer: bs + " bare `true`", ratio: "-", want: "report", met: judged(true, aok), reported: true})
	_, _, shr := ratio(runPG, sh, rpok, sok)
	rp.add(goal{figure: "2", what: "`jobcheck run -- true`, run mode, against the sh + curl peer (added times)",
		measured: num(runPG, rpok, "%+.2f ms"), peer: num(sh, sok, "%+.2f ms"), ratio: shr, want: "report", met: judged(true, rpok && sok), reported: true})
}

func (rp *report) wrapperMemory() {
	rp.printf("### 3. Wrapper memory while its child runs\n\n`jobcheck run` in run mode, pushing to a real Pushgateway, with a heartbeat check every 1.25 s " +
		"(`--max-age 5s`), around a child writing 100-byte lines for a few seconds to a pipe the harness drains. The wrapper's own memory, its child not included.\n\n" +
		"| child writes | came through | VmRSS, highest sample | VmHWM at exit |\n|---|---|---|---|\n")
	worst, lowest, measured := 0.0, 0.0, true
	for i, rate := range outputRates {
		key := "agent/mem/output/" + rateKey(rate) + "/"
		got, gok := rp.m(key + "achieved")
		rss, rok := rp.m(key + "vmrss")
		hwm, hok := rp.m(key + "vmhwm")
		label := fmt.Sprintf("%d MB/s", rate)
		if rate < 0 {
			label = "as fast as it can"
		}
		rp.printf("| %s | %s | %s | %s |\n", label, num(got, gok, "%.1f MB/s"), mib(rss, rok), mib(hwm, hok))
		measured = measured && hok
		worst = max(worst, hwm)
		if i == 0 || hwm < lowest {
			lowest = hwm
		}
	}
	fe, fok := rp.m("agent/mem/floor/forkexec/vmhwm")
	em, eok := rp.m("agent/mem/floor/empty/vmhwm")
	rp.printf("\nFloors, VmHWM at exit: the empty Go program %s; the Go fork-exec-wait floor %s.\n\n", mib(em, eok), mib(fe, fok))
	_, _, rs := ratio(worst, lowest, measured, measured)
	rp.add(goal{figure: "3", what: "wrapper resident memory (VmHWM) while its child runs, highest over the output rates",
		measured: mib(worst, measured), peer: mib(lowest, measured) + " (the lowest rate's)", ratio: rs,
		want: "< 6 MiB, flat (highest within 10% of the lowest)", met: judged(worst < 6*1024 && worst <= lowest*1.1, measured && lowest > 0),
		why: fmt.Sprintf("The Go fork-exec-wait floor peaks at %s and the empty Go program at %s: the wrapper adds %s over the floor "+
			"(its goroutines and their stacks, the output relays' buffers, the heartbeat's reads of /proc, the pushes).",
			mib(fe, fok), mib(em, eok), mib(worst-fe, measured && fok))})
}

func (rp *report) readBack() {
	groups, gok := rp.m("agent/readback/full/groups")
	bytes, bok := rp.m("agent/readback/full/bytes")
	rp.printf("### 4. Agent peak memory against a Pushgateway holding many groups\n\n`jobcheck run` in run mode: a failed run (`false`) reads the " +
		"previous failure count back from the Pushgateway's `/metrics`, a successful one (`true`) does not. Each failed run was checked to have " +
		"found its count. VmHWM of the wrapper at exit.\n\n| Pushgateway | `run -- false` (reads back) | `run -- true` |\n|---|---|---|\n")
	for _, pg := range []struct{ key, label string }{
		{"empty", "empty"},
		{"full", fmt.Sprintf("%s groups (%s of `/metrics`)", thousands(groups), mibBytes(bytes, bok))},
	} {
		f, fok := rp.m("agent/readback/" + pg.key + "/false/vmhwm")
		t, tok := rp.m("agent/readback/" + pg.key + "/true/vmhwm")
		label := pg.label
		if pg.key == "full" && !gok {
			label = "full"
		}
		rp.printf("| %s | %s | %s |\n", label, mib(f, fok), mib(t, tok))
	}
	rp.printf("\n")
	full, fok := rp.m("agent/readback/full/false/vmhwm")
	empty, eok := rp.m("agent/readback/empty/false/vmhwm")
	rp.add(goal{figure: "4", what: fmt.Sprintf("agent peak (VmHWM), failed run reading back from a Pushgateway of %s groups", thousands(groups)),
		measured: mib(full, fok), peer: mib(empty, eok) + " with an empty one", ratio: num(full-empty, fok && eok, "%+.0f KiB"),
		want: "within 1 MiB", met: judged(full-empty <= 1024, fok && eok),
		why: fmt.Sprintf("The read-back streams %s of `/metrics`; what it keeps is the buffer of one line and the samples of its own group.", mibBytes(bytes, bok))})
}

func (rp *report) size() {
	rp.printf("### 5. Size\n\n| artefact | linux/amd64 | linux/arm64 | linux/arm/v7 |\n|---|---|---|---|\n")
	row := func(label, prefix, suffix string) {
		rp.printf("| %s |", label)
		for _, p := range agentPlatforms {
			v, ok := rp.m(prefix + p + suffix)
			rp.printf(" %s |", mibBytes(v, ok))
		}
		rp.printf("\n")
	}
	row("agent binary (static, stripped)", "size/agent/", "")
	row("agent image, compressed (layer, config and manifest: what a node pulls)", "image/agent/", "/total")
	hb, hbok := rp.m("size/empty")
	rp.printf("\nAn empty Go program built the same way (linux/amd64): %s.\n\n", mibBytes(hb, hbok))
	origins := rp.sizeOrigins()
	sizeWhy := fmt.Sprintf("An empty static Go program is %s; the rest is the agent's code and what it links.", mibBytes(hb, hbok))
	if len(origins) > 0 {
		rp.printf("Where the agent's code and read-only data come from (`go tool nm -size` of an unstripped linux/amd64 build, symbols of type T and R; " +
			"the rest of the file is the runtime's tables for them):\n\n| origin | size |\n|---|---|\n")
		var top []string
		for _, o := range origins[:min(10, len(origins))] {
			rp.printf("| %s | %s |\n", o.name, mibBytes(o.bytes, true))
			if len(top) < 4 {
				top = append(top, fmt.Sprintf("%s %s", o.name, mibBytes(o.bytes, true)))
			}
		}
		rp.printf("\n")
		sizeWhy += " The largest contributors: " + strings.Join(top, ", ") + "."
	}
	for _, p := range agentPlatforms {
		ab, abok := rp.m("size/agent/" + p)
		_, _, bs := ratio(ab, hb, abok, hbok)
		peer := mibBytes(hb, hbok) + " empty Go program (linux/amd64)"
		if p != agentPlatforms[0] {
			bs, peer = "-", "-"
		}
		rp.add(goal{figure: "5", what: "agent binary, static, stripped, " + p, measured: mibBytes(ab, abok), peer: peer, ratio: bs,
			want: "< 5 MiB", met: judged(ab < 5<<20, abok), why: sizeWhy})
	}
	var imgs []string
	worst, measured := 0.0, true
	for _, p := range agentPlatforms {
		v, ok := rp.m("image/agent/" + p + "/total")
		imgs = append(imgs, mibBytes(v, ok))
		worst, measured = max(worst, v), measured && ok
	}
	rp.add(goal{figure: "5", what: "agent image from hack/images, compressed (" + strings.Join(agentPlatforms, ", ") + ")",
		measured: strings.Join(imgs, ", "), peer: "-", ratio: "-", want: "< 5 MiB", met: judged(worst < 5<<20, measured),
		why: "The image is one layer holding only /jobcheck, gzip at its best compression: it is what the binary compresses to."})
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
	return fmt.Sprintf(" Before main runs, the agent's %d package initialisers take %.2f ms of CPU time (GODEBUG=inittrace=1, median; "+
		"the last ends %.2f ms after the process starts, tracing included); the largest: %s.", len(pkgs), total, done, strings.Join(top, ", "))
}

type origin struct {
	name  string
	bytes float64
}

// sizeOrigins lists where the agent's code comes from, largest first.
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
