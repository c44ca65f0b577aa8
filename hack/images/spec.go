package main

import (
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/jobcheck/jobcheck/contract"
)

// image is one of jobcheck's two images: a single static binary on an empty
// base, like the Dockerfile's target of the same name (images_test.go
// compares them).
type image struct {
	target     string // the Dockerfile target it stands for
	repo       string // repository name under the registry
	pkg        string // the Go package of its binary
	file       string // the binary's path in the image
	user       string
	entrypoint []string
	cmd        []string
	platforms  []v1.Platform
}

// nonRoot is the numeric user and group of both images: distroless's
// "nonroot", a UID no distribution assigns.
const nonRoot = "65532:65532"

var (
	linuxAMD64 = v1.Platform{OS: "linux", Architecture: "amd64"}
	linuxARM64 = v1.Platform{OS: "linux", Architecture: "arm64"}
	linuxARMv7 = v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}
)

// images are what `images build` makes. The agent runs on every node that
// runs jobs, small ARM boards included; the webhook on the control-plane
// side, where 32-bit ARM is rare.
var images = []image{
	{
		target:     "agent",
		repo:       "jobcheck-agent",
		pkg:        "github.com/jobcheck/jobcheck/cmd/jobcheck",
		file:       contract.ImageAgentPath,
		user:       nonRoot,
		entrypoint: []string{contract.ImageAgentPath},
		platforms:  []v1.Platform{linuxAMD64, linuxARM64, linuxARMv7},
	},
	{
		target:     "webhook",
		repo:       "jobcheck-webhook",
		pkg:        "github.com/jobcheck/jobcheck/cmd/jobcheck-webhook",
		file:       "/jobcheck-webhook",
		user:       nonRoot,
		entrypoint: []string{"/jobcheck-webhook"},
		cmd:        []string{"serve"},
		platforms:  []v1.Platform{linuxAMD64, linuxARM64},
	},
}

// platformString is how a person and an image index name a platform.
func platformString(p v1.Platform) string {
	return contract.Platform(p.OS, p.Architecture, p.Variant)
}
