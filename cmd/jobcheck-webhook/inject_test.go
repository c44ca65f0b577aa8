package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/jobcheck/jobcheck/contract"
	"github.com/jobcheck/jobcheck/inject"
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

	wantStderr := `jobcheck-webhook inject: testdata/manifests.yaml: warning: Job/db-migrate: jobcheck: container "entry" not wrapped: it has no command and its image's ENTRYPOINT was not looked up; set jobcheck.io/command to its argv as a JSON array` + "\n" +
		"jobcheck-webhook inject: hint: --resolve-images reads the ENTRYPOINT and CMD of containers without command from their images' registries\n"
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

// TestInjectJSONSurrogatePairs: a JSON manifest whose strings hold UTF-16
// surrogate pair escapes (json.dumps writes an emoji as \ud83d\ude80) is read
// as kubectl reads it, the character kept.
func TestInjectJSONSurrogatePairs(t *testing.T) {
	in := `{"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "rocket", "annotations": {"jobcheck.io/enabled": "true"}},
 "spec": {"template": {"spec": {"restartPolicy": "Never",
  "containers": [{"name": "main", "image": "busybox", "command": ["sh", "-c", "echo \ud83d\ude80 done"]}]}}}}`
	code, out, stderr := runInjectOn(t, in, append([]string{"-f", "-"}, injectFlags...)...)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	var job batchv1.Job
	if err := yaml.Unmarshal([]byte(out), &job); err != nil {
		t.Fatalf("output does not decode: %v\n%s", err, out)
	}
	want := []string{"/opt/jobcheck/jobcheck", "run", "--", "sh", "-c", "echo \U0001F680 done"}
	if got := job.Spec.Template.Spec.Containers[0].Command; !cmp.Equal(got, want) {
		t.Errorf("command = %q, want %q", got, want)
	}

	// a YAML flow mapping starts like JSON but is not: still read as YAML
	flow := `{apiVersion: v1, kind: Service, metadata: {name: pushgateway}}`
	if code, out, stderr := runInjectOn(t, flow, "-f", "-"); code != 0 || out != flow {
		t.Errorf("YAML flow mapping: exit %d, out %q, stderr %q; want it copied unchanged", code, out, stderr)
	}
}

// TestInjectCopiesUntouchedBytes: documents that are not changed come out
// byte for byte, a last line without line break included; a changed
// document next to them does not change that.
func TestInjectCopiesUntouchedBytes(t *testing.T) {
	service := "apiVersion: v1\nkind: Service\nmetadata:\n  name: pushgateway # a comment"
	job := `apiVersion: batch/v1
kind: Job
metadata: {name: once, annotations: {jobcheck.io/enabled: "true"}}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: main, image: busybox, command: ["true"]}]
`
	for name, tt := range map[string]struct {
		in    string
		check func(out string) bool
	}{
		"one document, no final line break": {service, func(out string) bool { return out == service }},
		"last of two, no final line break": {"kind: ConfigMap\napiVersion: v1\n---\n" + service,
			func(out string) bool { return out == "kind: ConfigMap\napiVersion: v1\n---\n"+service }},
		"after a changed document": {job + "---\n" + service,
			func(out string) bool {
				return strings.HasSuffix(out, "\n---\n"+service) && strings.Contains(out, "jobcheck.io/injected")
			}},
		"before a changed document": {service + "\n---\n" + strings.TrimSuffix(job, "\n"),
			func(out string) bool {
				return strings.HasPrefix(out, service+"\n---\n") && strings.HasSuffix(out, "\n")
			}},
	} {
		t.Run(name, func(t *testing.T) {
			code, out, stderr := runInjectOn(t, tt.in, append([]string{"-f", "-"}, injectFlags...)...)
			if code != 0 || !tt.check(out) {
				t.Errorf("exit %d, stderr %q, output:\n%q", code, stderr, out)
			}
			_, twice, _ := runInjectOn(t, out, append([]string{"-f", "-"}, injectFlags...)...)
			if twice != out {
				t.Errorf("second run changed the output:\n%q\n%q", out, twice)
			}
		})
	}
}

// TestCorpusCoverage runs the offline injector over the real Job and
// CronJob manifests of test/corpus (public projects' repositories, listed
// in SOURCES), each opted in with jobcheck.io/enabled, and measures the
// share of their containers, and of manifests with every container, that
// jobcheck wraps: without the image lookup (only containers with a command,
// as before it existed), and with it answering for every image (this
// machine reaches no public registry, so every image is assumed readable,
// with an ENTRYPOINT). Run with -v for the figures. The manifests themselves
// are not in git (third-party files): without them the test is skipped.
func TestCorpusCoverage(t *testing.T) {
	dir := filepath.Join("..", "..", "test", "corpus")
	files := corpusFiles(t, dir)
	if len(files) < 100 {
		t.Fatalf("%d manifests in %s, want 100 or more", len(files), dir)
	}
	cfg := inject.Defaults()
	cfg.AgentImage = "registry.example/jobcheck/agent:v1"
	readable := func(_, _ string, _, images []string) inject.Images {
		out := inject.Images{}
		for _, img := range images {
			out[img] = inject.Image{Entrypoint: []string{"/entrypoint"}}
		}
		return out
	}
	type tally struct{ containers, withCommand, wrapped, manifests, full int }
	var before, after tally
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		enabled := optIn(t, f, data)
		for _, run := range []struct {
			t       *tally
			resolve resolver
		}{{&before, nil}, {&after, readable}} {
			j := &injector{cfg: cfg, resolve: run.resolve, warn: func(string) {}}
			if _, err := j.manifests(bytes.NewReader(enabled)); err != nil {
				t.Errorf("%s: %v", f, err)
				continue
			}
			if len(j.results) == 0 {
				t.Errorf("%s: no pod template found", f)
				continue
			}
			full := true
			for _, res := range j.results {
				for _, c := range res.Pod.Spec.Containers {
					run.t.containers++
					wrapped := res.Injected && len(c.Command) > 0 && c.Command[0] == contract.AgentPath
					if wrapped {
						run.t.wrapped++
					} else {
						full = false
					}
				}
				for _, k := range res.Skipped {
					if run.resolve != nil && (k.Reason == inject.ReasonNoCommand || k.Reason == inject.ReasonImageLookup) {
						t.Errorf("%s: with every image readable, container %s skipped: %s", f, k.Container, k.Message)
					}
				}
			}
			run.t.manifests++
			if full {
				run.t.full++
			}
		}
		// Without the lookup exactly the containers with a command are wrapped.
		var pods []map[string]any
		for _, doc := range documents(t, f, enabled) {
			pods = append(pods, podTemplates(doc)...)
		}
		for _, p := range pods {
			for _, c := range sliceAt(p, "spec", "containers") {
				if cm, ok := c.(map[string]any); ok && len(sliceAt(cm, "command")) > 0 {
					before.withCommand++
				}
			}
		}
	}
	if before.wrapped != before.withCommand {
		t.Errorf("without the lookup %d containers wrapped, want the %d that have a command", before.wrapped, before.withCommand)
	}
	if after.wrapped < before.wrapped || before.containers != after.containers {
		t.Errorf("with the lookup %d/%d wrapped, without %d/%d: want no fewer", after.wrapped, after.containers, before.wrapped, before.containers)
	}
	pct := func(n, of int) string { return fmt.Sprintf("%d/%d (%.0f%%)", n, of, 100*float64(n)/float64(of)) }
	t.Logf("corpus: %d manifests, %d containers in their pod templates", len(files), before.containers)
	t.Logf("without image lookup: containers wrapped %s, manifests with every container wrapped %s",
		pct(before.wrapped, before.containers), pct(before.full, before.manifests))
	t.Logf("with image lookup (every image readable): containers wrapped %s, manifests with every container wrapped %s",
		pct(after.wrapped, after.containers), pct(after.full, after.manifests))
}

// corpusFiles lists the manifests of dir, checking that SOURCES names each
// one with its repository, path and commit, and nothing else.
func corpusFiles(t *testing.T, dir string) []string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(dir, "SOURCES"))
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, line := range strings.Split(string(src), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, "\t")
		if len(fields) != 4 || !strings.Contains(fields[1], "/") || len(fields[3]) != 40 {
			t.Errorf("SOURCES line %q: want file, owner/repo, path, commit", line)
			continue
		}
		listed[fields[0]] = true
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	present := 0
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".yaml") {
			present++
		}
	}
	if present == 0 {
		// The manifests are other people's files, most without a licence that
		// allows copying them: git holds only SOURCES. Fetch each file at its
		// commit into test/corpus to measure.
		t.Skipf("%s holds no manifests: they are not committed; fetch the %d files SOURCES lists to measure", dir, len(listed))
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".yaml") {
			continue
		}
		if !listed[e.Name()] {
			t.Errorf("%s is not in SOURCES", e.Name())
		}
		delete(listed, e.Name())
		files = append(files, e.Name())
	}
	for f := range listed {
		t.Errorf("SOURCES lists %s, which is missing", f)
	}
	return files
}

// optIn returns the documents of data with jobcheck.io/enabled: "true" on
// every Job and CronJob, as JSON documents of a YAML stream.
func optIn(t *testing.T, name string, data []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	for _, doc := range documents(t, name, data) {
		kind, _ := doc["kind"].(string)
		if kind == "Job" || kind == "CronJob" {
			meta, _ := doc["metadata"].(map[string]any)
			if meta == nil {
				meta = map[string]any{}
				doc["metadata"] = meta
			}
			ann, _ := meta["annotations"].(map[string]any)
			if ann == nil {
				ann = map[string]any{}
				meta["annotations"] = ann
			}
			ann["jobcheck.io/enabled"] = "true"
		}
		js, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		out.WriteString("---\n")
		out.Write(js)
		out.WriteString("\n")
	}
	return out.Bytes()
}

// documents decodes the objects of a YAML stream.
func documents(t *testing.T, name string, data []byte) []map[string]any {
	t.Helper()
	var docs []map[string]any
	r := k8syaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		obj, err := decodeDocument(doc)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if m, ok := obj.(map[string]any); ok {
			docs = append(docs, m)
		}
	}
}

// podTemplates returns the pod templates of a Job or CronJob.
func podTemplates(doc map[string]any) []map[string]any {
	switch doc["kind"] {
	case "Job":
		return []map[string]any{mapAt(doc, "spec", "template")}
	case "CronJob":
		return []map[string]any{mapAt(doc, "spec", "jobTemplate", "spec", "template")}
	}
	return nil
}

// sliceAt returns the list at path below m, or nil.
func sliceAt(m map[string]any, path ...string) []any {
	last := len(path) - 1
	parent := mapAt(m, path[:last]...)
	s, _ := parent[path[last]].([]any)
	return s
}
