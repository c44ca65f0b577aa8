package main

import (
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/kubernetes"

	"github.com/jobcheck/jobcheck/imageconfig"
)

// imageFlags are the flags of the image lookup (package imageconfig), which
// reads the ENTRYPOINT and CMD of the images of containers without command
// so they can be wrapped. serve looks images up by default; the offline
// injector only with --resolve-images.
type imageFlags struct {
	offline   bool
	enabled   *bool
	budget    *time.Duration
	tagTTL    *time.Duration
	cacheSize *int
	caFile    *string
	insecure  *string
}

// addImageFlags registers the image lookup's flags on fs: serve's when
// offline is false, the offline injector's (lookup off by default, no
// cache flags: it runs once) when true.
func addImageFlags(fs *flag.FlagSet, offline bool) *imageFlags {
	f := &imageFlags{offline: offline}
	if offline {
		f.enabled = fs.Bool("resolve-images", false, "read the ENTRYPOINT and CMD of the images of containers without command from their registries (with the credentials of your docker config), so they are wrapped too; off: no network")
		f.budget = fs.Duration("image-lookup-budget", 20*time.Second, "bound on reading the images of one pod template; an image not read by then leaves its container unwrapped, with a warning")
	} else {
		f.enabled = fs.Bool("image-lookup", true, "read the ENTRYPOINT and CMD of the images of containers without command from their registries (with the pod's pull secrets), so they are wrapped too")
		f.budget = fs.Duration("image-lookup-budget", imageconfig.DefaultBudget, "bound on reading a pod's images within its admission; an image not read by then leaves its container unwrapped (the read goes on in the background for the next pod)")
		f.tagTTL = fs.Duration("image-tag-ttl", imageconfig.DefaultTagTTL, "how long the digest a tag points to is used before asking its registry again (0: ask for every pod)")
		f.cacheSize = fs.Int("image-cache-size", imageconfig.DefaultCacheSize, "images (by digest) and tags kept in memory")
	}
	f.caFile = fs.String("image-ca-file", "", "PEM bundle of the certificate authorities of private registries, trusted besides the system's")
	f.insecure = fs.String("image-insecure-registries", "", "comma list of registries (host or host:port) read over plain HTTP (loopback and private-network addresses fall back to it anyway)")
	return f
}

// lookup returns the image lookup the flags ask for, or nil when it is off.
// client reads the pods' pull secrets and service accounts (serve; it
// needs get on secrets and serviceaccounts); the offline injector uses the
// user's docker config instead. reg receives the lookup's metrics (nil:
// none). The error names the bad flag.
func (f *imageFlags) lookup(client kubernetes.Interface, reg prometheus.Registerer, log *slog.Logger) (*imageconfig.Lookup, error) {
	if !*f.enabled {
		return nil, nil
	}
	if *f.budget <= 0 {
		return nil, fmt.Errorf("--image-lookup-budget %s: want a positive duration", *f.budget)
	}
	o := imageconfig.Options{
		Client:     client,
		Budget:     *f.budget,
		CAFile:     *f.caFile,
		Registerer: reg,
		Log:        log,
	}
	if f.offline {
		o.Keychain = authn.DefaultKeychain
	} else {
		if *f.tagTTL < 0 {
			return nil, fmt.Errorf("--image-tag-ttl %s: want zero or more", *f.tagTTL)
		}
		if *f.cacheSize <= 0 {
			return nil, fmt.Errorf("--image-cache-size %d: want a positive number", *f.cacheSize)
		}
		o.TagTTL, o.CacheSize = *f.tagTTL, *f.cacheSize
		if o.TagTTL == 0 {
			o.TagTTL = time.Nanosecond // zero asks the registry for every pod
		}
	}
	for _, r := range strings.Split(*f.insecure, ",") {
		if r = strings.TrimSpace(r); r == "" {
			continue
		}
		if strings.Contains(r, "/") {
			return nil, fmt.Errorf("--image-insecure-registries %q: want host or host:port, without scheme or path", r)
		}
		o.Insecure = append(o.Insecure, r)
	}
	l, err := imageconfig.New(o)
	if err != nil {
		if *f.caFile != "" && strings.Contains(err.Error(), *f.caFile) {
			return nil, fmt.Errorf("--image-ca-file: %w", err)
		}
		return nil, err
	}
	return l, nil
}
