package agent

import (
	"bytes"
	"errors"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
)

// activity counts bytes the child wrote: in progress mode, output is a sign of life.
type activity struct{ n atomic.Uint64 }

func (a *activity) add(n int)    { a.n.Add(uint64(n)) }
func (a *activity) load() uint64 { return a.n.Load() }

// tail keeps the last lines written to it, so that a failed run can be
// reported to Kuberhealthy with the end of the child's stderr.
type tail struct {
	mu      sync.Mutex
	max     int
	lines   []string
	partial []byte
}

const (
	tailLines   = 10
	tailLineLen = 512
)

func newTail(max int) *tail { return &tail{max: max} }

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	rest := p
	for len(rest) > 0 {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			t.partial = appendCapped(t.partial, rest)
			break
		}
		t.push(string(appendCapped(t.partial, rest[:i])))
		t.partial = t.partial[:0]
		rest = rest[i+1:]
	}
	return len(p), nil
}

func appendCapped(dst, src []byte) []byte {
	if room := tailLineLen - len(dst); room < len(src) {
		src = src[:max(room, 0)]
	}
	return append(dst, src...)
}

func (t *tail) push(line string) {
	t.lines = append(t.lines, line)
	if len(t.lines) > t.max {
		t.lines = t.lines[len(t.lines)-t.max:]
	}
}

// Lines returns the kept lines, including an unterminated last one.
func (t *tail) Lines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := append([]string(nil), t.lines...)
	if len(t.partial) > 0 {
		out = append(out, string(t.partial))
		if len(out) > t.max {
			out = out[1:]
		}
	}
	return out
}

// relay copies the child's output from r to dst, noting activity and feeding
// extra (the stderr tail) as it goes. When dst's reader is gone (EPIPE), r is
// closed so the child gets its own SIGPIPE/EPIPE; any other failing dst never
// blocks the child: the output is then drained and dropped.
func relay(r *os.File, dst io.Writer, act *activity, extra io.Writer, done chan<- struct{}) {
	defer close(done)
	defer r.Close()
	buf := make([]byte, 16<<10)
	dstOK := true
	for {
		n, err := r.Read(buf)
		if n > 0 {
			act.add(n)
			if dstOK {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					if errors.Is(werr, syscall.EPIPE) {
						// The reader went away (`jobcheck run -- yes | head -1`):
						// close this end too, so the child meets the broken pipe
						// it would meet unwrapped instead of writing forever.
						return
					}
					dstOK = false
				}
			}
			if extra != nil {
				extra.Write(buf[:n])
			}
		}
		if err != nil {
			return
		}
	}
}
