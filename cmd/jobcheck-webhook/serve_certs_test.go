package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/yaml"

	"github.com/jobcheck/jobcheck/certs"
)

// parseCertFlags parses args with the certificate flags and serve's two file
// flags, as serve registers them.
func parseCertFlags(t *testing.T, args ...string) (f *certFlags, certFile, keyFile string) {
	t.Helper()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f = addCertFlags(fs)
	fs.StringVar(&certFile, "tls-cert-file", "", "")
	fs.StringVar(&keyFile, "tls-key-file", "", "")
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	return f, certFile, keyFile
}

func TestCertFlagsChooseOneSource(t *testing.T) {
	self := []string{"--cert-secret=jobcheck-system/jobcheck-webhook-tls", "--cert-dns-names=jobcheck-webhook.jobcheck-system.svc"}
	for _, tc := range []struct {
		name string
		args []string
		self bool
		want string // "" : valid
	}{
		{"cert-manager's files", []string{"--tls-cert-file=/tls/tls.crt", "--tls-key-file=/tls/tls.key"}, false, ""},
		{"self-managed", self, true, ""},
		{"self-managed, every flag", append(self, "--cert-webhook-configuration=jc", "--cert-validity=24h", "--cert-ca-validity=240h", "--cert-check-interval=10s"), true, ""},
		{"neither", nil, false, "need --tls-cert-file and --tls-key-file"},
		{"a key without its certificate", []string{"--tls-key-file=/tls/tls.key"}, false, "need --tls-cert-file and --tls-key-file"},
		{"both", append(self, "--tls-cert-file=/tls/tls.crt", "--tls-key-file=/tls/tls.key"), true, "exclude each other"},
		{"a Secret without namespace", []string{"--cert-secret=jobcheck-webhook-tls", "--cert-dns-names=a.b.svc"}, true, `--cert-secret "jobcheck-webhook-tls": want NAMESPACE/NAME`},
		{"a Secret with a path", []string{"--cert-secret=a/b/c", "--cert-dns-names=a.b.svc"}, true, "want NAMESPACE/NAME"},
		{"no DNS names", []string{"--cert-secret=a/b"}, true, "at least one DNS name"},
		{"no webhook configuration", append(self, "--cert-webhook-configuration="), true, "MutatingWebhookConfiguration's name"},
		{"CA shorter than its certificates", append(self, "--cert-ca-validity=24h"), true, "CA validity 24h0m0s must be longer"},
		{"interval too long for the validity", append(self, "--cert-validity=1h", "--cert-check-interval=10m"), true, "interval 10m0s must be positive and at most a tenth"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, crt, key := parseCertFlags(t, tc.args...)
			if f.selfManaged() != tc.self {
				t.Errorf("selfManaged = %v, want %v", f.selfManaged(), tc.self)
			}
			err := f.check(crt, key)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("check: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("check = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestNewCertSource: cert-manager's files give a file source, read once at
// start-up (a wrong path is named); --cert-secret gives a Manager whose
// rotation metrics can be registered.
func TestNewCertSource(t *testing.T) {
	dir := t.TempDir()
	b, err := certs.Generate([]string{"localhost"}, nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Write(dir); err != nil {
		t.Fatal(err)
	}
	crt, key := filepath.Join(dir, certs.CertFile), filepath.Join(dir, certs.KeyFile)

	f, _, _ := parseCertFlags(t)
	src, err := f.newCertSource(crt, key, time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := src.(*certs.Source); !ok {
		t.Errorf("files: source is a %T, want *certs.Source", src)
	}
	_, err = f.newCertSource(crt, filepath.Join(dir, "missing.key"), time.Second, nil)
	if err == nil || !strings.Contains(err.Error(), "missing.key") {
		t.Errorf("missing key file: %v, want an error naming it", err)
	}

	f, _, _ = parseCertFlags(t, "--cert-secret=ns/s", "--cert-dns-names=w.ns.svc")
	src, err = f.newCertSource("", "", time.Second, fake.NewClientset())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := src.(*certs.Manager); !ok {
		t.Errorf("--cert-secret: source is a %T, want *certs.Manager", src)
	}
	if _, ok := src.(prometheus.Collector); !ok {
		t.Error("the self-managed source is not a prometheus.Collector")
	}
	if src.Ready() {
		t.Error("ready before its first sync")
	}
}

// TestShippedArgsAreServeFlags: the Deployment args of the static manifests
// (rendered from the Helm chart) are flags serve knows, with values its
// checks accept: a chart that passes a flag the binary lacks, or a bad value,
// would crash-loop every replica.
func TestShippedArgsAreServeFlags(t *testing.T) {
	var help bytes.Buffer
	if code := serve(context.Background(), []string{"--help"}, &help, nil); code != 0 {
		t.Fatalf("serve --help exited %d: %s", code, help.String())
	}
	known := regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`).FindAllStringSubmatch(help.String(), -1)
	for _, file := range []string{"install.yaml", "install-cert-manager.yaml"} {
		t.Run(file, func(t *testing.T) {
			c := shippedContainer(t, filepath.Join("..", "..", "manifests", file))
			if len(c.Args) == 0 || c.Args[0] != "serve" {
				t.Fatalf("args %v, want serve first", c.Args)
			}
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			config := addConfigFlags(fs)
			cf := addCertFlags(fs)
			for _, m := range known { // serve's own flags, whatever they are
				if fs.Lookup(m[1]) == nil {
					fs.String(m[1], "", "")
				}
			}
			// $(NAME) is the kubelet's expansion of the container's env.
			var args []string
			for _, a := range c.Args[1:] {
				args = append(args, regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`).ReplaceAllStringFunc(a, func(ref string) string {
					for _, e := range c.Env {
						if "$("+e.Name+")" == ref && e.Value != "" {
							return e.Value
						}
					}
					t.Errorf("%s names no literal env of the container", ref)
					return ref
				}))
			}
			if err := fs.Parse(args); err != nil {
				t.Fatalf("serve would exit 2: %v", err)
			}
			if img := fs.Lookup("agent-image").Value.String(); !strings.Contains(img, "jobcheck-agent:") {
				t.Errorf("--agent-image is %q, want the agent image", img)
			}
			if _, err := config(); err != nil {
				t.Errorf("injection flags: %v", err)
			}
			if err := cf.check(fs.Lookup("tls-cert-file").Value.String(), fs.Lookup("tls-key-file").Value.String()); err != nil {
				t.Errorf("certificate flags: %v", err)
			}
			var memory bool
			for _, e := range c.Env {
				memory = memory || e.Name == envMemoryLimit && e.ValueFrom != nil && e.ValueFrom.ResourceFieldRef != nil &&
					e.ValueFrom.ResourceFieldRef.Resource == "limits.memory"
			}
			if !memory {
				t.Errorf("no %s from the container's limits.memory: the Go runtime's memory limit stays unset", envMemoryLimit)
			}
		})
	}
}

// shippedContainer reads the webhook Deployment's container from a
// multi-document manifest.
func shippedContainer(t *testing.T, file string) corev1.Container {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range strings.Split(string(data), "\n---\n") {
		var d appsv1.Deployment
		if err := yaml.Unmarshal([]byte(doc), &d); err != nil || d.Kind != "Deployment" {
			continue
		}
		if len(d.Spec.Template.Spec.Containers) != 1 {
			t.Fatalf("%s: %d containers, want 1", file, len(d.Spec.Template.Spec.Containers))
		}
		return d.Spec.Template.Spec.Containers[0]
	}
	t.Fatalf("%s: no Deployment", file)
	return corev1.Container{}
}
