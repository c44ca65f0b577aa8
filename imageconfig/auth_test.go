package imageconfig

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// pullSecret is a kubernetes.io/dockerconfigjson Secret holding user:pass for host.
func pullSecret(namespace, name, host, user, pass string) *corev1.Secret {
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	cfg, _ := json.Marshal(map[string]any{"auths": map[string]any{host: map[string]string{"auth": auth}}})
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: cfg},
	}
}

// TestResolveCredentials: a registry that requires credentials is read
// with the pod's pull secrets or its service account's, as the kubelet
// pulls; without them, or with wrong ones, the lookup fails at once with
// the registry's answer.
func TestResolveCredentials(t *testing.T) {
	r := newRegistry(t, registryOptions{user: "robot", pass: "s3cret"})
	r.push(t, "team/private:1", image(t, []string{"/private"}, []string{"run"}, amd64))
	img := r.host + "/team/private:1"

	objects := []runtime.Object{
		pullSecret("team-a", "regcred", r.host, "robot", "s3cret"),
		pullSecret("team-a", "wrong", r.host, "robot", "guess"),
		&corev1.ServiceAccount{
			ObjectMeta:       metav1.ObjectMeta{Namespace: "team-a", Name: "builder"},
			ImagePullSecrets: []corev1.LocalObjectReference{{Name: "regcred"}},
		},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "default"}},
		pullSecret("team-b", "regcred", r.host, "robot", "s3cret"),
	}
	tests := []struct {
		name, namespace, serviceAccount string
		pullSecrets                     []string
		want                            string // "" for the image, else a substring of Err
	}{
		{"the pod's pull secret", "team-a", "default", []string{"regcred"}, ""},
		{"the service account's pull secret", "team-a", "builder", nil, ""},
		{"a missing pull secret is skipped, the next one used", "team-a", "default", []string{"gone", "regcred"}, ""},
		{"no credentials", "team-a", "default", nil, "UNAUTHORIZED"},
		{"wrong credentials", "team-a", "default", []string{"wrong"}, "UNAUTHORIZED"},
		{"another namespace's secret is not used", "team-c", "default", []string{"regcred"}, "UNAUTHORIZED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, _ := newLookup(t, Options{Client: fake.NewClientset(objects...), Budget: time.Minute})
			got := l.Resolve(context.Background(), tt.namespace, tt.serviceAccount, tt.pullSecrets, []string{img})[img]
			if tt.want == "" {
				if got.Err != "" || !cmp.Equal(got.Entrypoint, []string{"/private"}) {
					t.Errorf("got %+v, want the image read with the credentials", got)
				}
				return
			}
			if !strings.Contains(got.Err, tt.want) {
				t.Errorf("Err = %q, want it to contain %q", got.Err, tt.want)
			}
		})
	}
}

// TestResolveWithoutSecretAccess: when the webhook may not read secrets (its
// RBAC), a public image is still read anonymously.
func TestResolveWithoutSecretAccess(t *testing.T) {
	r := newRegistry(t, registryOptions{})
	r.push(t, "team/public:1", image(t, []string{"/public"}, nil, amd64))
	client := fake.NewClientset()
	client.PrependReactor("get", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: a.GetResource().Resource}, "x", nil)
	})
	l, _ := newLookup(t, Options{Client: client, Budget: time.Minute})
	img := r.host + "/team/public:1"
	got := l.Resolve(context.Background(), "team-a", "default", []string{"regcred"}, []string{img})[img]
	if got.Err != "" || !cmp.Equal(got.Entrypoint, []string{"/public"}) {
		t.Errorf("got %+v, want the public image", got)
	}
}

// TestResolveKeychain: without a Kubernetes client (the offline injector),
// credentials come from Options.Keychain (the user's docker config).
func TestResolveKeychain(t *testing.T) {
	r := newRegistry(t, registryOptions{user: "robot", pass: "s3cret"})
	r.push(t, "team/private:1", image(t, []string{"/private"}, nil, amd64))
	img := r.host + "/team/private:1"
	kc := staticKeychain{host: r.host, auth: authn.FromConfig(authn.AuthConfig{Username: "robot", Password: "s3cret"})}
	l, _ := newLookup(t, Options{Keychain: kc, Budget: time.Minute})
	if got := resolveOne(l, img); got.Err != "" || !cmp.Equal(got.Entrypoint, []string{"/private"}) {
		t.Errorf("got %+v, want the image read with the keychain's credentials", got)
	}
}

// staticKeychain answers auth for one registry host.
type staticKeychain struct {
	host string
	auth authn.Authenticator
}

func (k staticKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if r.RegistryStr() == k.host {
		return k.auth, nil
	}
	return authn.Anonymous, nil
}

// TestCacheIsPerCredentials: an image one namespace read with its pull
// secret does not answer, from the cache, a lookup of a namespace that has
// no access: its ENTRYPOINT and CMD would land in that namespace's pod spec.
func TestCacheIsPerCredentials(t *testing.T) {
	r := newRegistry(t, registryOptions{user: "robot", pass: "s3cret"})
	r.push(t, "team/private:1", image(t, []string{"/private"}, []string{"run"}, amd64))
	img := r.host + "/team/private:1"
	l, _ := newLookup(t, Options{Client: fake.NewClientset(pullSecret("team-a", "regcred", r.host, "robot", "s3cret")), Budget: time.Minute})
	if got := l.Resolve(context.Background(), "team-a", "default", []string{"regcred"}, []string{img})[img]; got.Err != "" {
		t.Fatalf("team-a with its pull secret: %+v", got)
	}
	got := l.Resolve(context.Background(), "team-b", "default", nil, []string{img})[img]
	if got.Err == "" || len(got.Entrypoint) > 0 {
		t.Errorf("team-b, without credentials, got %+v from the cache; want the registry's refusal", got)
	}
	if again := l.Resolve(context.Background(), "team-a", "default", []string{"regcred"}, []string{img})[img]; again.Err != "" {
		t.Errorf("team-a again: %+v", again)
	}
}
