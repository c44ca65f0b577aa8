package inject

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"

	"github.com/jobcheck/jobcheck/contract"
)

// wrapper is the argv that runs the agent's wrapper; the wrapped argv follows.
var wrapper = []string{contract.AgentPath, contract.CommandRun, "--"}

// target is one container to wrap: what its command and args become.
type target struct {
	index   int
	name    string
	command []string // the new command: wrapper, then what it runs
	args    []string // the new args when setArgs (the image's CMD)
	setArgs bool

	// entrypoints, when not empty, is the value of contract.EnvEntrypoints:
	// the image runs a different command on each platform.
	entrypoints string
}

// plan chooses the containers to wrap: those named by jobcheck.io/containers
// (else all regular containers) whose argv is known: from their command,
// jobcheck.io/command, or their image (images). The others are skipped,
// each with its reason and a message saying how to fix it.
func plan(pod *corev1.Pod, s settings, images Images) ([]target, []Skip) {
	var targets []target
	var skipped []Skip
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		if !s.selected(c.Name) {
			continue
		}
		t, k := planContainer(c, s, images)
		if k.Reason != "" {
			skipped = append(skipped, k)
			continue
		}
		t.index, t.name = i, c.Name
		targets = append(targets, t)
	}
	return targets, skipped
}

// planContainer is plan for one container: the target, or why it is skipped.
func planContainer(c *corev1.Container, s settings, images Images) (target, Skip) {
	skip := func(reason, format string, a ...any) (target, Skip) {
		return target{}, Skip{Container: c.Name, Reason: reason, Message: fmt.Sprintf("jobcheck: container %s not wrapped: ", quote(c.Name)) + fmt.Sprintf(format, a...)}
	}
	if mountsAgentPath(c) {
		return skip(ReasonMountConflict, "it already mounts something at %s; mount it elsewhere or leave it out with %s", contract.MountPath, contract.AnnotationContainers)
	}
	if len(c.Command) > 0 {
		return target{command: concat(wrapper, c.Command)}, Skip{}
	}
	if argv := s.override(c.Name); argv != nil {
		return target{command: concat(wrapper, argv)}, Skip{}
	}
	img, ok := images[c.Image]
	hasArgs := len(c.Args) > 0
	switch {
	case !ok:
		return skip(ReasonNoCommand, "it has no command and its image's ENTRYPOINT was not looked up; set %s to its argv as a JSON array", contract.AnnotationCommand)
	case img.Err != "":
		_, k := skip(ReasonImageLookup, "it has no command and its image's ENTRYPOINT could not be read (); set %s to its argv as a JSON array", contract.AnnotationCommand)
		at := strings.Index(k.Message, "()") + 1
		k.Message = k.Message[:at] + oneLine(img.Err, maxWarning-utf8.RuneCountInString(k.Message)) + k.Message[at:]
		return target{}, k
	case img.Platforms != nil:
		return target{command: slices.Clone(wrapper), entrypoints: img.entrypoints(hasArgs)}, Skip{}
	case img.runsNothing(hasArgs):
		return skip(ReasonNoCommand, "it has no command and its image %s has neither ENTRYPOINT nor CMD, so it would not start", quote(c.Image))
	}
	head, tail, setArgs := img.argv(hasArgs)
	t := target{command: concat(wrapper, escapeAll(head))}
	if setArgs {
		t.args, t.setArgs = escapeAll(tail), true
	}
	return t, Skip{}
}

// mountsAgentPath reports whether c already mounts something where the agent goes.
func mountsAgentPath(c *corev1.Container) bool {
	return slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return path.Clean(m.MountPath) == contract.MountPath })
}

// concat returns a new slice holding a then b.
func concat(a, b []string) []string {
	return append(append(make([]string, 0, len(a)+len(b)), a...), b...)
}

// conflict reports a pod that injection would make invalid: one that already
// uses a name jobcheck adds, or a Windows pod (the agent is a Linux binary and
// the installer's securityContext is not allowed there). It returns the
// warning, or "".
func conflict(pod *corev1.Pod) string {
	if (pod.Spec.OS != nil && pod.Spec.OS.Name == corev1.Windows) || pod.Spec.NodeSelector[corev1.LabelOSStable] == string(corev1.Windows) {
		return "jobcheck not injected: the agent runs on Linux only and this is a Windows pod"
	}
	for _, v := range pod.Spec.Volumes {
		if v.Name == contract.VolumeName {
			return fmt.Sprintf("jobcheck not injected: the pod already has a volume named %q", contract.VolumeName)
		}
	}
	for _, c := range pod.Spec.InitContainers {
		if c.Name == contract.InstallerName {
			return fmt.Sprintf("jobcheck not injected: the pod already has an init container named %q", contract.InstallerName)
		}
	}
	for _, c := range pod.Spec.Containers {
		if c.Name == contract.InstallerName {
			return fmt.Sprintf("jobcheck not injected: the pod already has a container named %q", contract.InstallerName)
		}
	}
	return ""
}

// wrap turns c into a wrapped container: the command (and the image's CMD
// as args where setting the command would drop it), so the process sees
// the argv it had before behind the wrapper; the mount; the env; and the
// probe and preStop hook where c has none.
func wrap(c *corev1.Container, t target, vars []corev1.EnvVar, s settings) {
	c.Command = t.command
	if t.setArgs {
		c.Args = t.args
	}
	c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: contract.VolumeName, MountPath: contract.MountPath})
	for _, v := range vars {
		if !slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == v.Name }) {
			c.Env = append(c.Env, v)
		}
	}
	if s.liveness && c.LivenessProbe == nil {
		c.LivenessProbe = probe(s)
	}
	if c.Lifecycle == nil {
		c.Lifecycle = &corev1.Lifecycle{}
	}
	if c.Lifecycle.PreStop == nil {
		c.Lifecycle.PreStop = preStop()
	}
}
