package certs

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/cert-manager/cert-manager/pkg/util/pki"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// fieldManager names the Manager's writes in managedFields.
const fieldManager = "jobcheck-webhook"

var (
	getOptions    = metav1.GetOptions{}
	createOptions = metav1.CreateOptions{FieldManager: fieldManager}
	updateOptions = metav1.UpdateOptions{FieldManager: fieldManager}
	patchOptions  = metav1.PatchOptions{FieldManager: fieldManager}
)

// webhookConfig is what a Manager reads of its MutatingWebhookConfiguration.
type webhookConfig struct {
	name, resourceVersion string
	webhooks              []string            // the webhooks' names
	bundle                []*x509.Certificate // the CAs every webhook's caBundle holds
	generation            int64               // GenerationAnnotation: the Secret generation the caBundle came from
}

// readWebhookConfig reads the configuration's caBundle. The bundle is the
// CAs all its webhooks trust: a webhook with another caBundle (one added by
// hand) makes it differ from the Secret's, so the Manager writes them all.
func readWebhookConfig(ctx context.Context, client kubernetes.Interface, name string) (webhookConfig, error) {
	c, err := client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, name, getOptions)
	if err != nil {
		return webhookConfig{}, fmt.Errorf("read MutatingWebhookConfiguration %s: %w", name, err)
	}
	wc := webhookConfig{name: c.Name, resourceVersion: c.ResourceVersion}
	if g, err := strconv.ParseInt(c.Annotations[GenerationAnnotation], 10, 64); err == nil && g > 0 {
		wc.generation = g
	}
	for i, w := range c.Webhooks {
		wc.webhooks = append(wc.webhooks, w.Name)
		var cas []*x509.Certificate
		if len(w.ClientConfig.CABundle) > 0 {
			cas, _ = pki.DecodeX509CertificateSetBytes(w.ClientConfig.CABundle) // unreadable: trusts nothing
		}
		if i == 0 {
			wc.bundle = cas
		} else if !sameCerts(wc.bundle, cas) {
			wc.bundle = nil
		}
	}
	return wc, nil
}

// writeBundle sets the caBundle of every webhook of the configuration to cas
// and records generation, on the condition that the configuration is still
// the version read (the patch carries its resourceVersion). Only the caBundle
// and the annotation change: Helm and kubectl apply leave both alone, since
// neither is in the shipped manifest.
func writeBundle(ctx context.Context, client kubernetes.Interface, wc webhookConfig, cas []*x509.Certificate, generation int64) error {
	pem, err := encodeCerts(cas)
	if err != nil {
		return err
	}
	type clientConfig struct {
		CABundle []byte `json:"caBundle"`
	}
	type webhook struct {
		Name         string       `json:"name"`
		ClientConfig clientConfig `json:"clientConfig"`
	}
	patch := struct {
		Metadata struct {
			ResourceVersion string            `json:"resourceVersion"`
			Annotations     map[string]string `json:"annotations"`
		} `json:"metadata"`
		Webhooks []webhook `json:"webhooks"` // merged by name (patchMergeKey)
	}{}
	patch.Metadata.ResourceVersion = wc.resourceVersion
	patch.Metadata.Annotations = map[string]string{GenerationAnnotation: strconv.FormatInt(generation, 10)}
	for _, name := range wc.webhooks {
		patch.Webhooks = append(patch.Webhooks, webhook{Name: name, ClientConfig: clientConfig{CABundle: pem}})
	}
	body, err := json.Marshal(patch)
	if err != nil {
		return fmt.Errorf("encode caBundle patch: %w", err)
	}
	_, err = client.AdmissionregistrationV1().MutatingWebhookConfigurations().
		Patch(ctx, wc.name, types.StrategicMergePatchType, body, patchOptions)
	if err != nil {
		return fmt.Errorf("write the caBundle of MutatingWebhookConfiguration %s: %w", wc.name, err)
	}
	return nil
}
