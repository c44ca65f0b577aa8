package cluster

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"sort"
	"strings"
)

// Stage is what a Dockerfile build stage declares about the image it produces: the
// part the harness's images must match (files, user, entrypoint, command).
type Stage struct {
	Name       string
	Base       string   // FROM image or stage
	Files      []string // absolute paths that COPY/ADD put in the image, sorted
	User       string
	Entrypoint []string
	Cmd        []string
}

// ParseDockerfile reads the stages of a Dockerfile. It understands what jobcheck's
// Dockerfile uses (FROM ... AS, COPY/ADD with flags, USER, ENTRYPOINT, CMD, in JSON or
// shell form, line continuations, comments) and ignores every other instruction. A
// full parser (BuildKit's) would bring a large dependency graph into the module that
// pins the Kubernetes build.
func ParseDockerfile(file string) (map[string]*Stage, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read Dockerfile: %w", err)
	}
	stages := map[string]*Stage{}
	var cur *Stage
	n := 0
	for _, line := range logicalLines(string(b)) {
		word, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		inst := strings.ToUpper(word)
		if inst != "FROM" && cur == nil {
			continue // ARG before the first FROM
		}
		switch inst {
		case "FROM":
			args := dropFlags(strings.Fields(rest))
			if len(args) == 0 {
				return nil, fmt.Errorf("%s: FROM without an image", file)
			}
			cur = &Stage{Name: fmt.Sprint(n), Base: args[0]}
			if len(args) == 3 && strings.EqualFold(args[1], "AS") {
				cur.Name = args[2]
			}
			if parent, ok := stages[cur.Base]; ok { // FROM another stage: inherit it
				cur.Files = append([]string(nil), parent.Files...)
				cur.User, cur.Entrypoint, cur.Cmd = parent.User, parent.Entrypoint, parent.Cmd
			}
			stages[cur.Name] = cur
			n++
		case "COPY", "ADD":
			args, err := argv(rest)
			if err != nil {
				return nil, fmt.Errorf("%s: %s %q: %w", file, inst, rest, err)
			}
			args = dropFlags(args)
			if len(args) < 2 {
				return nil, fmt.Errorf("%s: %s %q: want sources and a destination", file, inst, rest)
			}
			dest := args[len(args)-1]
			for _, src := range args[:len(args)-1] {
				p := dest
				if strings.HasSuffix(dest, "/") || len(args) > 2 {
					p = path.Join(dest, path.Base(src))
				}
				cur.Files = append(cur.Files, path.Clean("/"+p))
			}
			sort.Strings(cur.Files)
		case "USER":
			cur.User = rest
		case "ENTRYPOINT":
			if cur.Entrypoint, err = execForm(rest); err != nil {
				return nil, fmt.Errorf("%s: ENTRYPOINT: %w", file, err)
			}
			cur.Cmd = nil // a new ENTRYPOINT resets an inherited CMD
		case "CMD":
			if cur.Cmd, err = execForm(rest); err != nil {
				return nil, fmt.Errorf("%s: CMD: %w", file, err)
			}
		}
	}
	return stages, nil
}

// logicalLines joins continued lines and drops comments and blank lines.
func logicalLines(s string) []string {
	var out []string
	var cur strings.Builder
	for _, l := range strings.Split(s, "\n") {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "#") {
			continue
		}
		if strings.HasSuffix(t, `\`) {
			cur.WriteString(strings.TrimSuffix(t, `\`) + " ")
			continue
		}
		cur.WriteString(t)
		if line := strings.TrimSpace(cur.String()); line != "" {
			out = append(out, line)
		}
		cur.Reset()
	}
	return out
}

// argv splits an instruction's arguments: a JSON array or whitespace-separated words.
func argv(rest string) ([]string, error) {
	if strings.HasPrefix(rest, "[") {
		var a []string
		if err := json.Unmarshal([]byte(rest), &a); err != nil {
			return nil, fmt.Errorf("bad JSON array: %w", err)
		}
		return a, nil
	}
	return strings.Fields(rest), nil
}

// execForm is ENTRYPOINT/CMD: the JSON form as written, the shell form run by /bin/sh -c.
func execForm(rest string) ([]string, error) {
	if strings.HasPrefix(rest, "[") {
		return argv(rest)
	}
	return []string{"/bin/sh", "-c", rest}, nil
}

func dropFlags(args []string) []string {
	var out []string
	for _, a := range args {
		if !strings.HasPrefix(a, "--") {
			out = append(out, a)
		}
	}
	return out
}
