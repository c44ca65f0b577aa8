package main

import (
	"flag"
	"io"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jobcheck/jobcheck/inject"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func parseConfig(t *testing.T, args ...string) (inject.Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	config := addConfigFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	return config()
}

// TestConfigFlagsDefaults: with no flags, the Config is inject's defaults and
// the agent image of this version.
func TestConfigFlagsDefaults(t *testing.T) {
	got, err := parseConfig(t)
	if err != nil {
		t.Fatal(err)
	}
	want := inject.Defaults()
	want.AgentImage = "jobcheck/agent:" + version
	want.Version = version
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("default Config (-want +got):\n%s", diff)
	}
}

// TestConfigFlags: every flag reaches its Config field.
func TestConfigFlags(t *testing.T) {
	got, err := parseConfig(t,
		"--agent-image", "reg.example/agent:9", "--pushgateway", "https://pg.example:9091",
		"--max-age", "2h", "--heartbeat", "file", "--grace", "0s", "--liveness=false",
		"--init-cpu-request", "20m", "--init-memory-request", "32Mi",
		"--init-cpu-limit", "", "--init-memory-limit", "128Mi")
	if err != nil {
		t.Fatal(err)
	}
	want := inject.Config{
		AgentImage: "reg.example/agent:9", Pushgateway: "https://pg.example:9091",
		MaxAge: 2 * time.Hour, Heartbeat: "file", Grace: 0, Liveness: false, Version: version,
		InitResources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("20m"), corev1.ResourceMemory: resource.MustParse("32Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("128Mi")},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Config (-want +got):\n%s", diff)
	}
}
