package cluster

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A started process is found alive, and Stop ends exactly it.
func TestProcStop(t *testing.T) {
	p, err := startProc("sleeper", filepath.Join(t.TempDir(), "sleeper.log"), []string{"sleep", "60"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Alive() {
		t.Fatalf("pid %d not alive right after start", p.Pid)
	}
	if err := p.Stop(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if p.Alive() {
		t.Fatalf("pid %d alive after Stop", p.Pid)
	}
}

// A recorded pid whose start time differs is someone else's process: never signalled.
func TestProcReusedPidIsNotOurs(t *testing.T) {
	self := &Proc{Name: "self", Pid: os.Getpid()}
	start, _, err := procStat(self.Pid)
	if err != nil {
		t.Fatal(err)
	}
	self.Start = start + 1
	if self.Alive() {
		t.Fatal("a pid with another start time counts as alive")
	}
	if err := self.Stop(time.Second); err != nil {
		t.Fatalf("Stop of a reused pid: %v", err)
	}
}

func TestUnescapeMount(t *testing.T) {
	for in, want := range map[string]string{
		`/run/a\040b`: "/run/a b",
		`/plain`:      "/plain",
		`/tab\011x`:   "/tab\tx",
	} {
		if got := unescapeMount(in); got != want {
			t.Errorf("unescapeMount(%q) = %q, want %q", in, got, want)
		}
	}
}
