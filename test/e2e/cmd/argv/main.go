// Command argv is the entrypoint of the e2e images whose ENTRYPOINT and CMD the
// webhook must resolve from the registry: it prints the argv it was started
// with as one JSON line ("argv: [...]") and exits with the code in $ARGV_EXIT
// (0 when unset), so a test can compare what a process sees and how it ends
// with and without jobcheck.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
)

func main() {
	b, _ := json.Marshal(os.Args)
	fmt.Printf("argv: %s\n", b)
	code, _ := strconv.Atoi(os.Getenv("ARGV_EXIT"))
	os.Exit(code)
}
