package inject

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	"github.com/jobcheck/jobcheck/contract"
)

// volumeSize bounds the shared emptyDir: the agent binary and one heartbeat
// file per container.
var volumeSize = resource.MustParse("32Mi")

// nonRootUID is the agent image's USER; it is set explicitly only when the
// pod itself asks for root, since the installer must not run as root.
const nonRootUID = 65532

// addVolume adds the shared emptyDir volume.
func addVolume(pod *corev1.Pod) {
	size := volumeSize.DeepCopy()
	pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{
		Name:         contract.VolumeName,
		VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: &size}},
	})
}

// addInstaller puts the init container that copies the agent into the volume
// first among the init containers, so the agent is in place before any other
// init container or sidecar starts.
//
// Its securityContext passes Pod Security Admission "restricted" without a
// fixed UID: the agent image's numeric USER lets the kubelet verify
// runAsNonRoot. Only when the pod sets runAsUser 0 for every container does
// the installer name the image's UID, since runAsNonRoot would otherwise stop
// it from starting.
func addInstaller(pod *corev1.Pod, cfg Config) {
	sc := &corev1.SecurityContext{
		RunAsNonRoot:             ptr.To(true),
		AllowPrivilegeEscalation: ptr.To(false),
		ReadOnlyRootFilesystem:   ptr.To(true),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
	if psc := pod.Spec.SecurityContext; psc != nil && psc.RunAsUser != nil && *psc.RunAsUser == 0 {
		sc.RunAsUser = ptr.To[int64](nonRootUID)
	}
	installer := corev1.Container{
		Name:            contract.InstallerName,
		Image:           cfg.AgentImage,
		ImagePullPolicy: cfg.AgentPullPolicy,
		Command:         []string{contract.ImageAgentPath, contract.CommandInstall, contract.AgentPath},
		Resources:       *cfg.InitResources.DeepCopy(),
		VolumeMounts:    []corev1.VolumeMount{{Name: contract.VolumeName, MountPath: contract.MountPath}},
		SecurityContext: sc,
	}
	pod.Spec.InitContainers = append([]corev1.Container{installer}, pod.Spec.InitContainers...)
}

// addPullSecrets adds the agent image's pull secrets the pod does not name yet.
func addPullSecrets(pod *corev1.Pod, names []string) {
	for _, n := range names {
		if !slices.ContainsFunc(pod.Spec.ImagePullSecrets, func(r corev1.LocalObjectReference) bool { return r.Name == n }) {
			pod.Spec.ImagePullSecrets = append(pod.Spec.ImagePullSecrets, corev1.LocalObjectReference{Name: n})
		}
	}
}
