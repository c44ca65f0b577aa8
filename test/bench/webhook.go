//go:build bench

package main

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
)

// runWebhook measures figure 1 and the containers half of figure 9: the real
// /mutate handler against the floor, both over TLS keep-alive on loopback in
// this process, alternating which goes first in each round.
func runWebhook(args []string, log *slog.Logger) error {
	fs := flag.NewFlagSet("webhook", flag.ContinueOnError)
	n := fs.Int("n", 2000, "requests per run")
	rounds := fs.Int("rounds", 3, "repeated runs of every case (the report takes the median)")
	limit := fs.Duration("max-run", 4*time.Second, "no request of a run starts after this (bounds the slow cases)")
	out := fs.String("out", "webhook.json", "results file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	pair, roots, err := servingPair()
	if err != nil {
		return err
	}
	servers := map[string]string{}
	for name, h := range map[string]http.Handler{"real": realHandler(), "floor": floorHandler()} {
		url, stop, err := tlsServer(h, pair)
		if err != nil {
			return err
		}
		defer stop()
		servers[name] = url
	}
	bodies := map[int][]byte{}
	for _, c := range []int{1, 10, 50} {
		if bodies[c], err = review(jobPod(c)); err != nil {
			return err
		}
	}
	if err := check(servers, roots, bodies[1]); err != nil {
		return err
	}

	type tcase struct{ containers, conc int }
	cases := []tcase{{1, 1}, {1, 16}, {1, 64}, {10, 1}, {10, 16}, {10, 64}, {50, 1}}
	clients := map[string]*http.Client{}
	cl := func(server string, conc int) *http.Client {
		k := fmt.Sprint(server, conc)
		if clients[k] == nil {
			clients[k] = client(roots, conc)
		}
		return clients[k]
	}
	// Warm up: every connection open and every code path hot before timing.
	for _, tc := range cases {
		for name, url := range servers {
			if _, err := load(cl(name, tc.conc), url, bodies[tc.containers], max(50, 2*tc.conc), tc.conc, *limit/2); err != nil {
				return fmt.Errorf("warm up %s: %w", name, err)
			}
		}
	}
	res := results{}
	for r := range *rounds {
		order := []string{"real", "floor"}
		if r%2 == 1 {
			order = []string{"floor", "real"}
		}
		for _, tc := range cases {
			for _, name := range order {
				lr, err := load(cl(name, tc.conc), servers[name], bodies[tc.containers], *n, tc.conc, *limit)
				if err != nil {
					return fmt.Errorf("%s, %d containers, concurrency %d: %w", name, tc.containers, tc.conc, err)
				}
				key := fmt.Sprintf("webhook/%dc/%s/c%d/", tc.containers, name, tc.conc)
				res.add(key+"rps", "req/s", lr.RPS)
				res.add(key+"p50", "ms", ms(lr.P50))
				res.add(key+"p99", "ms", ms(lr.P99))
				log.Info("load", "server", name, "containers", tc.containers, "concurrency", tc.conc,
					"rps", int(lr.RPS), "p50", lr.P50, "p99", lr.P99)
			}
		}
	}
	return res.write(*out)
}

// check makes sure the real handler injects and the floor admits: a
// benchmark of a handler that skips the pod would measure nothing.
func check(servers map[string]string, roots *x509.CertPool, body []byte) error {
	c := client(roots, 1)
	for name, url := range servers {
		resp, err := c.Post(url, "application/json", bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("check %s: %w", name, err)
		}
		var r admissionv1.AdmissionReview
		err = json.NewDecoder(resp.Body).Decode(&r)
		resp.Body.Close()
		if err != nil || r.Response == nil || !r.Response.Allowed {
			return fmt.Errorf("check %s: answer is not an allowed AdmissionReview (%v)", name, err)
		}
		if name == "real" && len(r.Response.Patch) == 0 {
			return fmt.Errorf("check real: the pod was not mutated (warnings %q): the benchmark pod must be injected", r.Response.Warnings)
		}
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
