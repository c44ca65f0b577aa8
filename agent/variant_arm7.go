//go:build arm && arm.7

package agent

// variant is this build's platform variant (GOARM=7), as an image index
// names it: linux/arm/v7.
const variant = "v7"
