package webhook

import (
	"encoding/json"
	"errors"
	"fmt"

	admissionv1 "k8s.io/api/admission/v1"
	admissionv1beta1 "k8s.io/api/admission/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	sigsjson "sigs.k8s.io/json"
)

// decodeReview parses an AdmissionReview of admission.k8s.io/v1 or v1beta1.
// The two versions have the same JSON shape, so both decode into the v1
// types (as controller-runtime does); the version is returned so the answer
// can be given in kind. Keys are matched case-sensitively, as the API server does.
func decodeReview(body []byte) (*admissionv1.AdmissionReview, string, error) {
	var review admissionv1.AdmissionReview
	err := sigsjson.UnmarshalCaseSensitivePreserveInts(body, &review)
	tm := review.TypeMeta
	if err != nil {
		// Say what the body is when it is JSON of another kind: that is the
		// clearer message. Only this error path decodes the body twice.
		tm = metav1.TypeMeta{}
		if terr := sigsjson.UnmarshalCaseSensitivePreserveInts(body, &tm); terr != nil {
			return nil, "", fmt.Errorf("body is not a JSON object: %w", terr)
		}
	}
	if tm.Kind != "AdmissionReview" ||
		(tm.APIVersion != admissionv1.SchemeGroupVersion.String() && tm.APIVersion != admissionv1beta1.SchemeGroupVersion.String()) {
		return nil, "", fmt.Errorf("not an AdmissionReview: got apiVersion %q kind %q, want admission.k8s.io/v1 (or v1beta1) AdmissionReview", tm.APIVersion, tm.Kind)
	}
	if err != nil {
		return nil, "", fmt.Errorf("decode AdmissionReview: %w", err)
	}
	if review.Request == nil {
		return nil, "", errors.New("AdmissionReview has no request")
	}
	if review.Request.UID == "" {
		return nil, "", errors.New("AdmissionReview request has no uid")
	}
	return &review, tm.APIVersion, nil
}

// encodeReview wraps resp in an AdmissionReview of the given version.
func encodeReview(apiVersion string, resp *admissionv1.AdmissionResponse) ([]byte, error) {
	out := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: apiVersion, Kind: "AdmissionReview"},
		Response: resp,
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("encode AdmissionReview response: %w", err)
	}
	return b, nil
}
