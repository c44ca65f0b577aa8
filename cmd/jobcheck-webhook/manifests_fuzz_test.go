package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/jobcheck/jobcheck/inject"
)

// FuzzInjectManifests: no input makes the offline injector panic, and output
// it produces is a fixed point (running it again changes nothing), a missing
// final line break included.
func FuzzInjectManifests(f *testing.F) {
	for _, name := range []string{"manifests.yaml", "manifests.golden.yaml"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"kind":"List","items":[{"apiVersion":"v1","kind":"Pod","metadata":{"annotations":{"jobcheck.io/enabled":"true"}},"spec":{"containers":[{"name":"a","command":["x"]}]}}]}`))
	f.Add([]byte("kind: Job\napiVersion: batch/v1\nspec: {template: 3}\n"))
	f.Add([]byte(`{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"r","annotations":{"jobcheck.io/enabled":"true"}},"spec":{"template":{"spec":{"containers":[{"name":"a","command":["echo \ud83d\ude80"]}]}}}}`))
	f.Add([]byte("apiVersion: v1\nkind: Service # no final line break\n---\nkind: ConfigMap"))
	cfg := inject.Defaults()
	cfg.AgentImage = "agent:1"
	f.Fuzz(func(t *testing.T, in []byte) {
		once, err := injectManifests(bytes.NewReader(in), cfg, nil, func(string) {})
		if err != nil {
			return
		}
		twice, err := injectManifests(bytes.NewReader(once), cfg, nil, func(string) {})
		if err != nil {
			t.Fatalf("output of a successful run does not parse: %v\n%s", err, once)
		}
		if !bytes.Equal(once, twice) {
			t.Fatalf("second run changed the output:\nonce:\n%s\ntwice:\n%s", once, twice)
		}
	})
}
