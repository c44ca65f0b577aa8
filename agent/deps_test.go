package agent

import (
	"os/exec"
	"strings"
	"testing"
)

// The agent is copied into every job pod and runs at every liveness probe:
// these must not come back into it (size and start-up time, issue 11).
func TestAgentDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/jobcheck/jobcheck/cmd/jobcheck").Output()
	if err != nil {
		t.Fatal(err)
	}
	banned := []string{
		"github.com/prometheus/client_golang", "github.com/prometheus/client_model", "github.com/prometheus/common",
		"google.golang.org/protobuf", "github.com/prometheus/procfs", "net/http", "time/tzdata", "k8s.io/",
		"log/slog", "encoding/json", // 300 KB: agent/textlog and a JSON encoder by hand instead
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, b := range banned {
			if pkg == b || strings.HasPrefix(pkg, strings.TrimSuffix(b, "/")+"/") || strings.HasSuffix(b, "/") && strings.HasPrefix(pkg, b) {
				t.Errorf("the agent links %s", pkg)
			}
		}
	}
}
