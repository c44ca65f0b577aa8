package imageconfig

import (
	"testing"
	"time"
)

// BenchmarkResolve: one image looked up for the first time (a new Lookup:
// a manifest and a config read from a registry on loopback), and looked up
// again (the cache), by tag and by digest.
func BenchmarkResolve(b *testing.B) {
	r := newRegistry(b, registryOptions{})
	byDigest := r.push(b, "team/app:1", image(b, []string{"/app"}, []string{"run"}, amd64))
	byTag := r.host + "/team/app:1"
	for _, bc := range []struct {
		name, image string
		cached      bool
	}{
		{"first/tag", byTag, false},
		{"cached/tag", byTag, true},
		{"cached/digest", byDigest, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			l, _ := newLookup(b, Options{Budget: time.Minute})
			resolveOne(l, bc.image)
			b.ReportAllocs()
			for b.Loop() {
				if !bc.cached {
					b.StopTimer()
					l, _ = newLookup(b, Options{Budget: time.Minute})
					b.StartTimer()
				}
				if img := resolveOne(l, bc.image); img.Err != "" {
					b.Fatal(img.Err)
				}
			}
		})
	}
}
