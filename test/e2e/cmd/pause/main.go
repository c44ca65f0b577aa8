// Command pause is the sandbox ("pause") image of the e2e node: it holds a pod's
// namespaces open and does nothing until it is told to stop. The harness builds it
// because the usual pause image cannot be pulled on a machine without internet.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
}
