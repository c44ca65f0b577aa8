package contract

import "path"

// What the webhook adds to a pod (docs/internals.md).
const (
	// VolumeName is the shared emptyDir that carries the agent and the heartbeat files.
	VolumeName = "jobcheck"
	// MountPath is where VolumeName is mounted in the installer and in every wrapped container.
	MountPath = "/opt/jobcheck"
	// AgentPath is the agent inside a wrapped container.
	AgentPath = MountPath + "/jobcheck"
	// ImageAgentPath is the agent inside the agent image.
	ImageAgentPath = "/jobcheck"
	// InstallerName is the init container that copies the agent into the volume.
	InstallerName = "jobcheck-install"
)

// Agent commands run by the webhook's additions.
const (
	CommandRun     = "run"
	CommandProbe   = "probe"
	CommandPrestop = "prestop"
	CommandInstall = "install"
)

// SentinelPath is the heartbeat file of the wrapped container named container.
func SentinelPath(container string) string {
	return path.Join(MountPath, container+".heartbeat")
}

// MarkerPath is the file `jobcheck prestop` leaves next to a sentinel to say
// that Kubernetes is stopping the container.
func MarkerPath(sentinel string) string { return sentinel + ".terminating" }

// LabelInjected is the label the webhook puts on every pod it injected
// (value "true"), next to the jobcheck.io/injected annotation that holds its
// version: the run watcher watches exactly the pods that carry it.
const LabelInjected = "jobcheck.io/injected"

// The annotations users set (README "Annotations"). Each may sit on the pod
// template, the Job or the CronJob; the nearest one wins.
const (
	AnnotationPrefix      = "jobcheck.io/" // every setting's: the informers keep only these
	AnnotationEnabled     = AnnotationPrefix + "enabled"
	AnnotationInjected    = AnnotationPrefix + "injected" // the marker the webhook sets: its version
	AnnotationPushgateway = AnnotationPrefix + "pushgateway"
	AnnotationJobName     = AnnotationPrefix + "job-name"
	AnnotationContainers  = AnnotationPrefix + "containers"
	AnnotationMaxAge      = AnnotationPrefix + "max-age"
	AnnotationHeartbeat   = AnnotationPrefix + "heartbeat"
	AnnotationLiveness    = AnnotationPrefix + "liveness"
	AnnotationGrace       = AnnotationPrefix + "grace"
	AnnotationCommand     = AnnotationPrefix + "command"
)
