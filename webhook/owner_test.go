package webhook

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	kubefake "k8s.io/client-go/kubernetes/fake"
	metafake "k8s.io/client-go/metadata/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/jobcheck/jobcheck/inject"
)

// Owner lookup logic against client-go's fake clients (the informers'
// behaviour on a real API server is tested in package workloads, the
// admission path by the cluster tests).

func fakeJob(name string, uid types.UID, annotations map[string]string, owner *metav1.OwnerReference) *batchv1.Job {
	j := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "team-a", UID: uid, Annotations: annotations},
	}
	if owner != nil {
		j.OwnerReferences = []metav1.OwnerReference{*owner}
	}
	return j
}

func fakeCronJob() *batchv1.CronJob {
	return &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "nightly-export", Namespace: "team-a", UID: "cj-uid",
			Annotations: map[string]string{"jobcheck.io/enabled": "true", "kubectl.kubernetes.io/last-applied-configuration": strings.Repeat("x", 1000)}},
		Spec: batchv1.CronJobSpec{Schedule: "0 3 * * *", TimeZone: ptr.To("Europe/Berlin"),
			JobTemplate: batchv1.JobTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"big": "template"}}}},
	}
}

func cronRef() *metav1.OwnerReference {
	return &metav1.OwnerReference{APIVersion: "batch/v1", Kind: "CronJob", Name: "nightly-export", UID: "cj-uid", Controller: ptr.To(true)}
}

var wantCronOwner = inject.Owner{
	JobName:            "nightly-export-29345678",
	JobAnnotations:     map[string]string{"jobcheck.io/max-age": "1h"},
	CronJobName:        "nightly-export",
	CronJobUID:         "cj-uid",
	CronJobAnnotations: map[string]string{"jobcheck.io/enabled": "true"},
	Schedule:           "0 3 * * *",
	TimeZone:           "Europe/Berlin",
}

func cronJobObjects() []runtime.Object {
	return []runtime.Object{
		fakeJob("nightly-export-29345678", "job-uid", map[string]string{"jobcheck.io/max-age": "1h", "other.io/x": "dropped"}, cronRef()),
		fakeCronJob(),
	}
}

func gets(actions []clienttesting.Action) int {
	n := 0
	for _, a := range actions {
		if a.GetVerb() == "get" {
			n++
		}
	}
	return n
}

// newOwners serves objs from a fake clientset (the informers, CronJob GETs)
// and their Jobs as metadata from a fake metadata client (Job GETs).
func newOwners(objs ...runtime.Object) (*OwnerCache, *kubefake.Clientset, *metafake.FakeMetadataClient) {
	scheme := metafake.NewTestScheme()
	metav1.AddMetaToScheme(scheme)
	var metaObjs []runtime.Object
	for _, o := range objs {
		if j, ok := o.(*batchv1.Job); ok {
			metaObjs = append(metaObjs, &metav1.PartialObjectMetadata{
				TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"}, ObjectMeta: j.ObjectMeta})
		}
	}
	client := kubefake.NewClientset(objs...)
	meta := metafake.NewSimpleMetadataClient(scheme, metaObjs...)
	return NewOwnerCache(meta, client, time.Second), client, meta
}

func TestLookupServedFromTheCaches(t *testing.T) {
	c, client, meta := newOwners(cronJobObjects()...)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if c.Synced() {
		t.Fatal("Synced before Start")
	}
	c.Start(ctx)
	deadline := time.Now().Add(10 * time.Second) // bounded wait for the first listing
	for !c.Synced() {
		if time.Now().After(deadline) {
			t.Fatal("caches never synced")
		}
		time.Sleep(5 * time.Millisecond)
	}
	client.ClearActions()
	meta.ClearActions()

	got, err := c.Lookup(ctx, "team-a", metav1.OwnerReference{Kind: "Job", Name: "nightly-export-29345678", UID: "job-uid"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, wantCronOwner) {
		t.Errorf("owner = %+v\nwant %+v", got, wantCronOwner)
	}
	if n := gets(client.Actions()) + gets(meta.Actions()); n != 0 {
		t.Errorf("%d direct GETs for objects in the cache, want 0", n)
	}
}

func TestLookupGetsWhatTheCacheHasNotSeen(t *testing.T) {
	c, client, meta := newOwners(cronJobObjects()...) // not started: every lookup misses the cache
	got, err := c.Lookup(context.Background(), "team-a", metav1.OwnerReference{Kind: "Job", Name: "nightly-export-29345678", UID: "job-uid"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, wantCronOwner) {
		t.Errorf("owner = %+v\nwant %+v", got, wantCronOwner)
	}
	if gets(meta.Actions()) != 1 || gets(client.Actions()) != 1 {
		t.Errorf("GETs: jobs %d, cronjobs %d; want 1 each", gets(meta.Actions()), gets(client.Actions()))
	}
}

func TestLookupPlainJob(t *testing.T) {
	c, _, _ := newOwners(fakeJob("db-migrate", "job-uid", map[string]string{"jobcheck.io/enabled": "true"}, nil))
	got, err := c.Lookup(context.Background(), "team-a", metav1.OwnerReference{Name: "db-migrate"})
	if err != nil {
		t.Fatal(err)
	}
	want := inject.Owner{JobName: "db-migrate", JobAnnotations: map[string]string{"jobcheck.io/enabled": "true"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("owner = %+v, want %+v", got, want)
	}
}

func TestLookupErrors(t *testing.T) {
	cases := []struct {
		name  string
		objs  []runtime.Object
		ref   metav1.OwnerReference
		react func(*metafake.FakeMetadataClient)
		want  string
	}{
		{name: "no such job", ref: metav1.OwnerReference{Name: "gone"}, want: "job team-a/gone not found"},
		{
			name: "job recreated under the same name", objs: cronJobObjects(),
			ref:  metav1.OwnerReference{Name: "nightly-export-29345678", UID: "old-uid"},
			want: "it has uid job-uid, the pod's owner reference names uid old-uid",
		},
		{
			name: "the job's cronjob is gone", objs: cronJobObjects()[:1],
			ref:  metav1.OwnerReference{Name: "nightly-export-29345678", UID: "job-uid"},
			want: "job team-a/nightly-export-29345678: cronjob team-a/nightly-export not found",
		},
		{
			name: "API server failing", ref: metav1.OwnerReference{Name: "x"},
			react: func(c *metafake.FakeMetadataClient) {
				c.PrependReactor("get", "jobs", func(clienttesting.Action) (bool, runtime.Object, error) {
					return true, nil, errors.New("etcdserver: request timed out")
				})
			},
			want: "get job team-a/x: etcdserver: request timed out",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, _, meta := newOwners(tc.objs...)
			if tc.react != nil {
				tc.react(meta)
			}
			_, err := c.Lookup(context.Background(), "team-a", tc.ref)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// A Job made with generateName (one per run) is reported under that prefix,
// so its runs share one Pushgateway group.
func TestLookupGeneratedJobUsesItsPrefix(t *testing.T) {
	j := fakeJob("backup-x7k2p", "job-uid", map[string]string{"jobcheck.io/enabled": "true"}, nil)
	j.GenerateName = "backup-"
	c, _, _ := newOwners(j)
	got, err := c.Lookup(context.Background(), "team-a", metav1.OwnerReference{Name: "backup-x7k2p"})
	if err != nil {
		t.Fatal(err)
	}
	if got.JobName != "backup" {
		t.Errorf("job name %q, want backup", got.JobName)
	}
}

// The shared informers the run watcher reads are the lookup's own.
func TestWorkloadsAreTheLookupsInformers(t *testing.T) {
	c, _, _ := newOwners(cronJobObjects()...)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c.Start(ctx)
	if !c.Workloads().WaitForSync(ctx) {
		t.Fatal("never synced")
	}
	if !c.Synced() {
		t.Error("the lookup's caches not synced once the shared ones are")
	}
	j, ok := c.Workloads().Job("team-a", "nightly-export-29345678")
	if !ok || len(j.Annotations) != 1 {
		t.Errorf("shared cache job = %+v, %v; want it stripped to its jobcheck.io annotation", j, ok)
	}
}
