package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// flags fix every default so the golden output does not depend on them.
var injectFlags = []string{
	"--agent-image", "registry.example/jobcheck/agent:v1.2.3",
	"--pushgateway", "http://pushgateway.monitoring:9091",
}

// runInjectOn runs `jobcheck-webhook inject` with args on stdin.
func runInjectOn(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(append([]string{"inject"}, args...), strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestInjectManifests: a stream with a CronJob, a Job, a Service and a List
// comes out with the Job and CronJob templates injected (compared with a
// reviewed golden file), the rest byte for byte, and one warning line.
func TestInjectManifests(t *testing.T) {
	in := filepath.Join("testdata", "manifests.yaml")
	code, out, stderr := runInjectOn(t, "", append([]string{"-f", in}, injectFlags...)...)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	golden := filepath.Join("testdata", "manifests.golden.yaml")
	if *update {
		if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("read golden file (run go test -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), out); diff != "" {
		t.Errorf("output differs from %s (-want +got):\n%s", golden, diff)
	}

	wantStderr := `jobcheck-webhook inject: testdata/manifests.yaml: warning: Job/db-migrate: jobcheck: container "entry" not wrapped: it has no command (the image's ENTRYPOINT is not known to the webhook); set jobcheck.io/command to its argv as a JSON array` + "\n"
	if stderr != wantStderr {
		t.Errorf("stderr = %q, want %q", stderr, wantStderr)
	}

	service := "apiVersion: v1\nkind: Service\nmetadata:\n  name: pushgateway   # comments survive in documents passed through\n"
	if !strings.Contains(out, service) {
		t.Errorf("the Service was not passed through byte for byte")
	}
	for _, unknown := range []string{"futureField:\n    kept: true", "futureContainerField: 7"} {
		if !strings.Contains(out, unknown) {
			t.Errorf("field unknown to k8s.io/api lost: %q", unknown)
		}
	}

	docs := strings.Split(out, "\n---\n")
	if len(docs) != 4 {
		t.Fatalf("%d documents out, want 4", len(docs))
	}
	var cj batchv1.CronJob
	if err := yaml.Unmarshal([]byte(docs[0]), &cj); err != nil {
		t.Fatalf("CronJob output does not decode: %v", err)
	}
	tmpl := cj.Spec.JobTemplate.Spec.Template
	if tmpl.Annotations["jobcheck.io/injected"] != "dev" || len(tmpl.Spec.InitContainers) != 1 || tmpl.Spec.InitContainers[0].Name != "jobcheck-install" {
		t.Errorf("CronJob template not injected: annotations %v, init containers %d", tmpl.Annotations, len(tmpl.Spec.InitContainers))
	}
	if cj.Annotations["jobcheck.io/injected"] != "" {
		t.Errorf("marker on the CronJob itself; want it on the pod template only")
	}
}

// TestInjectTwice: running on the output again changes nothing and warns of
// nothing.
func TestInjectTwice(t *testing.T) {
	in := filepath.Join("testdata", "manifests.yaml")
	_, once, _ := runInjectOn(t, "", append([]string{"-f", in}, injectFlags...)...)
	code, twice, stderr := runInjectOn(t, once, append([]string{"-f", "-"}, injectFlags...)...)
	if code != 0 {
		t.Fatalf("second run: exit %d, stderr:\n%s", code, stderr)
	}
	if diff := cmp.Diff(once, twice); diff != "" {
		t.Errorf("second run changed the output (-once +twice):\n%s", diff)
	}
	if stderr != "" {
		t.Errorf("second run warned: %s", stderr)
	}
}

// TestInjectJSON: JSON input (a List, as kubectl get -o json writes) comes out
// as injected YAML; a bare Pod is injected only with the annotation.
func TestInjectJSON(t *testing.T) {
	in := `{"apiVersion":"v1","kind":"List","items":[
	  {"apiVersion":"v1","kind":"Pod","metadata":{"name":"one-off","annotations":{"jobcheck.io/enabled":"true"}},
	   "spec":{"restartPolicy":"Never","containers":[{"name":"main","image":"busybox","command":["true"]}]}},
	  {"apiVersion":"v1","kind":"Pod","metadata":{"name":"web"},
	   "spec":{"containers":[{"name":"web","image":"nginx","command":["nginx"]}]}}]}`
	code, out, stderr := runInjectOn(t, in, append([]string{"-f", "-"}, injectFlags...)...)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	var list struct {
		Items []struct {
			Metadata struct {
				Name        string            `json:"name"`
				Annotations map[string]string `json:"annotations"`
			} `json:"metadata"`
			Spec struct {
				Containers []struct {
					Command []string `json:"command"`
					Env     []struct {
						Name  string `json:"name"`
						Value string `json:"value"`
					} `json:"env"`
				} `json:"containers"`
			} `json:"spec"`
		} `json:"items"`
	}
	if strings.HasPrefix(strings.TrimSpace(out), "{") {
		t.Errorf("output is JSON, want YAML:\n%s", out)
	}
	if err := yaml.Unmarshal([]byte(out), &list); err != nil || len(list.Items) != 2 {
		t.Fatalf("output is not a List of 2 items (%v):\n%s", err, out)
	}
	pod := list.Items[0]
	if pod.Metadata.Annotations["jobcheck.io/injected"] == "" {
		t.Errorf("annotated bare Pod not injected:\n%s", out)
	}
	if got, want := pod.Spec.Containers[0].Command, []string{"/opt/jobcheck/jobcheck", "run", "--", "true"}; !cmp.Equal(got, want) {
		t.Errorf("bare Pod command = %q, want %q", got, want)
	}
	job := ""
	for _, e := range pod.Spec.Containers[0].Env {
		if e.Name == "JOBCHECK_JOB" {
			job = e.Value
		}
	}
	if job != "one-off" {
		t.Errorf("bare Pod JOBCHECK_JOB = %q, want its name one-off", job)
	}
	if web := list.Items[1]; web.Metadata.Annotations != nil || !cmp.Equal(web.Spec.Containers[0].Command, []string{"nginx"}) {
		t.Errorf("Pod without the annotation changed: %+v", web)
	}
}

// TestInjectBadAnnotation: a bad value leaves the document as it was, with a
// warning naming the document, the annotation and the value.
func TestInjectBadAnnotation(t *testing.T) {
	in := `apiVersion: batch/v1
kind: CronJob
metadata:
  name: hourly
  annotations: {jobcheck.io/enabled: "true", jobcheck.io/max-age: soon}
spec:
  schedule: "@hourly"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: main, image: busybox, command: ["true"]}]
`
	code, out, stderr := runInjectOn(t, in, append([]string{"-f", "-"}, injectFlags...)...)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	if out != in {
		t.Errorf("document changed despite the bad annotation:\n%s", out)
	}
	want := `jobcheck-webhook inject: stdin: warning: CronJob/hourly: jobcheck not injected: annotation jobcheck.io/max-age="soon" on the CronJob: want a positive Go duration`
	if !strings.HasPrefix(stderr, want) || strings.Count(stderr, "\n") != 1 {
		t.Errorf("stderr = %q, want one line starting %q", stderr, want)
	}
}

// TestInjectErrors: bad input or flags exit non-zero with a message naming
// what was wrong, and write nothing to stdout.
func TestInjectErrors(t *testing.T) {
	tests := []struct {
		name     string
		stdin    string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"no -f", "", nil, 2, "-f FILE or -f - (stdin) is required"},
		{"missing file", "", []string{"-f", "testdata/nope.yaml"}, 1, "read manifest: open testdata/nope.yaml: no such file or directory"},
		{"stray argument", "", []string{"-f", "-", "extra.yaml"}, 2, `unexpected argument "extra.yaml"`},
		{"bad YAML", "apiVersion: v1\nkind: Service\n---\nkind: [unclosed\n", []string{"-f", "-"}, 1, "stdin: document 2: "},
		{
			"template of the wrong shape",
			"apiVersion: batch/v1\nkind: Job\nmetadata: {name: broken, annotations: {jobcheck.io/enabled: \"true\"}}\nspec:\n  template:\n    spec:\n      containers: [{name: main, command: \"not a list\"}]\n",
			[]string{"-f", "-"}, 1, "stdin: document 1: Job/broken: pod.spec.template: not a pod template: json: cannot unmarshal string",
		},
		{"bad max-age flag", "", []string{"-f", "-", "--max-age", "0s"}, 2, "--max-age 0s: must be more than zero"},
		{"bad heartbeat flag", "", []string{"-f", "-", "--heartbeat", "cpu"}, 2, `--heartbeat "cpu": want "progress" or "file"`},
		{"bad pushgateway flag", "", []string{"-f", "-", "--pushgateway", "localhost:9091"}, 2, `--pushgateway "localhost:9091": want an http or https URL`},
		{"bad quantity flag", "", []string{"-f", "-", "--init-memory-limit", "lots"}, 2, `--init-memory-limit "lots": want a positive Kubernetes quantity`},
		{"request above limit", "", []string{"-f", "-", "--init-cpu-request", "1"}, 2, "--init-cpu-request 1: above init-cpu-limit 100m"},
		{"empty agent image", "", []string{"-f", "-", "--agent-image", ""}, 2, "--agent-image: must not be empty"},
		{"unknown flag", "", []string{"-f", "-", "--nope"}, 2, "flag provided but not defined: -nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, stderr := runInjectOn(t, tt.stdin, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.wantCode, stderr)
			}
			if !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.wantErr)
			}
			if out != "" {
				t.Errorf("stdout = %q on error, want nothing", out)
			}
		})
	}
}

// TestInjectHelp: --help lists the shared default flags and succeeds.
func TestInjectHelp(t *testing.T) {
	code, _, stderr := runInjectOn(t, "", "--help")
	if code != 0 {
		t.Errorf("--help exit %d, want 0", code)
	}
	for _, f := range []string{"-f", "-agent-image", "-pushgateway", "-max-age", "-heartbeat", "-grace", "-liveness", "-init-cpu-request", "-init-memory-limit"} {
		if !strings.Contains(stderr, "  "+f+" ") && !strings.Contains(stderr, "  "+f+"\n") {
			t.Errorf("--help does not list %s:\n%s", f, stderr)
		}
	}
}
