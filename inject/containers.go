package inject

import (
	"fmt"
	"path"
	"slices"

	corev1 "k8s.io/api/core/v1"
)

// Paths inside every wrapped container (internals.md).
const (
	volumeName = "jobcheck"
	mountPath  = "/opt/jobcheck"
	agentPath  = mountPath + "/jobcheck"
)

// target is one container to wrap and the argv the wrapper runs.
type target struct {
	index   int
	name    string
	command []string
}

// plan chooses the containers to wrap: those named by jobcheck.io/containers
// (else all regular containers) that have a command or can take
// jobcheck.io/command. A container that cannot be wrapped gets a warning.
func plan(pod *corev1.Pod, s settings) ([]target, []string) {
	var targets []target
	var warnings []string
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		if s.containers != nil && !slices.Contains(s.containers, c.Name) {
			continue
		}
		switch {
		case slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return path.Clean(m.MountPath) == mountPath }):
			warnings = append(warnings, fmt.Sprintf("jobcheck: container %q not wrapped: it already mounts something at %s", c.Name, mountPath))
		case len(c.Command) > 0:
			targets = append(targets, target{i, c.Name, c.Command})
		case s.command != nil:
			targets = append(targets, target{i, c.Name, s.command})
		default:
			warnings = append(warnings, fmt.Sprintf(
				"jobcheck: container %q not wrapped: it has no command (the image's ENTRYPOINT is not known to the webhook); set %s to its argv as a JSON array",
				c.Name, AnnotationCommand))
		}
	}
	return targets, warnings
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
		if v.Name == volumeName {
			return fmt.Sprintf("jobcheck not injected: the pod already has a volume named %q", volumeName)
		}
	}
	for _, c := range pod.Spec.InitContainers {
		if c.Name == installerName {
			return fmt.Sprintf("jobcheck not injected: the pod already has an init container named %q", installerName)
		}
	}
	for _, c := range pod.Spec.Containers {
		if c.Name == installerName {
			return fmt.Sprintf("jobcheck not injected: the pod already has a container named %q", installerName)
		}
	}
	return ""
}

// wrap turns c into a wrapped container: the mount, the env, the wrapper
// around command (args untouched, so the argv the process sees is unchanged),
// and the probe and preStop hook where c has none.
func wrap(c *corev1.Container, command []string, vars []corev1.EnvVar, s settings) {
	c.Command = append([]string{agentPath, "run", "--"}, command...)
	c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: volumeName, MountPath: mountPath})
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
