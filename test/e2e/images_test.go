//go:build e2e

package e2e

import (
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The cluster runs the images `make images` built (dist/images, pushed to the
// harness's registry as they are): an injected pod's installer runs the agent
// index that was built, and the agent it installs is the build's version.
// (TestHelmInstall checks the webhook image; TestHarnessImagesMatchDockerfile
// that both are the Dockerfile's targets.)
func TestClusterRunsTheBuiltImages(t *testing.T) {
	t.Parallel()
	agent := builtImage(t, "jobcheck/agent")
	ns := namespace(t, "built-images", true, nil)
	job := createJob(t, &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "version", Namespace: ns, Annotations: map[string]string{annEnabled: "true"}},
		Spec: batchv1.JobSpec{BackoffLimit: ptr(int32(0)),
			Template: podSpec("sh", "-c", "echo installed agent: `"+AgentPath+" version`")},
	})
	waitJob(t, job, batchv1.JobComplete)
	pod := jobPods(t, job, 1)[0]
	if len(pod.Status.InitContainerStatuses) == 0 || pod.Status.InitContainerStatuses[0].Name != InstallerName {
		t.Fatalf("no %s status: %+v", InstallerName, pod.Status.InitContainerStatuses)
	}
	installer := pod.Status.InitContainerStatuses[0]
	if installer.Image != env.Images["jobcheck/agent"] {
		t.Errorf("installer image %s, want %s", installer.Image, env.Images["jobcheck/agent"])
	}
	assertImageID(t, installer.ImageID, agent)
	log, err := env.ContainerLog(&pod, "main")
	if err != nil {
		t.Fatal(err)
	}
	if want := "installed agent: " + agent.Tag + "\n"; !strings.Contains(log, want) {
		t.Errorf("the job's log does not say %q (the version `make images` compiled in):\n%s", want, log)
	}
}
