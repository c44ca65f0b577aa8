package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// buildOptions are the settings of `images build`.
type buildOptions struct {
	version string    // compiled in and the tag
	out     string    // OCI layout directory
	bin     string    // prebuilt binaries' directory; empty: compile
	created time.Time // date of every file and config
}

// build makes the image index of each of ims, from binaries it compiles or
// finds in o.bin, checks each binary against its platform, and writes the
// indexes to the OCI layout o.out.
func build(ctx context.Context, o buildOptions, ims []image) ([]named, error) {
	tmp, err := os.MkdirTemp("", "jobcheck-images-")
	if err != nil {
		return nil, fmt.Errorf("temporary directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	var out []named
	for _, im := range ims {
		var binaries []string
		for _, p := range im.platforms {
			bin := filepath.Join(o.bin, binaryName(im.pkg, p))
			if o.bin == "" {
				slog.Info("compiling", "package", im.pkg, "platform", platformString(p), "version", o.version)
				if bin, err = compile(ctx, im.pkg, p, o.version, tmp); err != nil {
					return nil, err
				}
			}
			if err := checkBinary(bin, p); err != nil {
				return nil, fmt.Errorf("image %s %s: %w", im.repo, platformString(p), err)
			}
			binaries = append(binaries, bin)
		}
		idx, err := index(im, binaries, o.version, o.created)
		if err != nil {
			return nil, err
		}
		out = append(out, named{name: im.repo + ":" + o.version, idx: idx})
	}
	if err := writeLayout(o.out, out); err != nil {
		return nil, err
	}
	slog.Info("wrote OCI layout", "dir", o.out, "images", len(out))
	return out, nil
}
