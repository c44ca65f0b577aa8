package inject

import (
	"github.com/jobcheck/jobcheck/contract"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// testConfig is a webhook configuration as the flags would build it.
func testConfig() Config {
	c := Defaults()
	c.AgentImage = "registry.example/jobcheck/agent:v1.2.3"
	c.Pushgateway = "http://pushgateway.monitoring:9091"
	c.Version = "v1.2.3"
	return c
}

// cronOwner is the owner of a pod created by the CronJob nightly-export.
func cronOwner() Owner {
	return Owner{
		JobName:            "nightly-export-29345678",
		JobAnnotations:     map[string]string{"batch.kubernetes.io/cronjob-scheduled-timestamp": "2026-11-21T03:00:00Z"},
		CronJobName:        "nightly-export",
		CronJobAnnotations: map[string]string{contract.AnnotationEnabled: "true"},
		Schedule:           "0 3 * * *",
		TimeZone:           "Europe/Berlin",
	}
}

// jobOwner is the owner of a pod of the plain Job db-migrate.
func jobOwner() Owner {
	return Owner{
		JobName:        "db-migrate",
		JobAnnotations: map[string]string{contract.AnnotationEnabled: "true"},
	}
}

// container is a regular container as users write them.
func container(name string, command ...string) corev1.Container {
	return corev1.Container{
		Name:                     name,
		Image:                    "registry.example/team/" + name + ":1.0",
		Command:                  command,
		Args:                     []string{"--verbose"},
		Env:                      []corev1.EnvVar{{Name: "LOG_LEVEL", Value: "info"}},
		VolumeMounts:             []corev1.VolumeMount{{Name: "data", MountPath: "/data"}},
		TerminationMessagePath:   "/dev/termination-log",
		TerminationMessagePolicy: corev1.TerminationMessageReadFile,
		ImagePullPolicy:          corev1.PullIfNotPresent,
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")},
		},
	}
}

// jobPod is a pod as the Job controller creates it (as the webhook sees it:
// generateName set, name empty, defaults applied), with containers cs.
func jobPod(jobName string, cs ...corev1.Container) *corev1.Pod {
	return &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: jobName + "-",
			Namespace:    "team-a",
			Labels: map[string]string{
				"batch.kubernetes.io/controller-uid": "6a1c8a8e-4d1b-4b7e-9d7c-0f3f0e0e1a11",
				"batch.kubernetes.io/job-name":       jobName,
				"controller-uid":                     "6a1c8a8e-4d1b-4b7e-9d7c-0f3f0e0e1a11",
				"job-name":                           jobName,
			},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "batch/v1", Kind: "Job", Name: jobName,
				UID: "6a1c8a8e-4d1b-4b7e-9d7c-0f3f0e0e1a11", Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
			}},
		},
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyNever,
			TerminationGracePeriodSeconds: ptr.To[int64](30),
			DNSPolicy:                     corev1.DNSClusterFirst,
			ServiceAccountName:            "default",
			SecurityContext:               &corev1.PodSecurityContext{},
			SchedulerName:                 "default-scheduler",
			Containers:                    cs,
			Volumes: []corev1.Volume{{
				Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}},
			}},
		},
	}
}

// withAnnotations sets pod annotations and returns the pod.
func withAnnotations(p *corev1.Pod, kv ...string) *corev1.Pod {
	if p.Annotations == nil {
		p.Annotations = map[string]string{}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		p.Annotations[kv[i]] = kv[i+1]
	}
	return p
}

// envOf returns the env of c as a map (values, or the fieldRef path).
func envOf(c corev1.Container) map[string]string {
	m := map[string]string{}
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
			m[e.Name] = "fieldRef:" + e.ValueFrom.FieldRef.FieldPath
			continue
		}
		m[e.Name] = e.Value
	}
	return m
}
