package webhook

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	jsoniter "github.com/json-iterator/go"
	admissionv1 "k8s.io/api/admission/v1"
	admissionv1beta1 "k8s.io/api/admission/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	sigsjson "sigs.k8s.io/json"
)

// review is what the webhook reads of an AdmissionReview of
// admission.k8s.io/v1 or v1beta1 (the two have the same JSON shape).
type review struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Request    *request `json:"request"`
}

// request is what the webhook reads of an admission request. The rest of it
// (userInfo, oldObject, options, the request kind and resource) is skipped
// by the decoder, never allocated, and the pod is decoded in the same pass
// as the review around it.
type request struct {
	requestHeader
	Object *corev1.Pod `json:"object"` // nil when there is none

	// objectErr is why the object does not decode as a pod: the review is
	// answered, the pod admitted unmutated (decode-pod).
	objectErr error
}

// requestHeader is the request without its object.
type requestHeader struct {
	UID         types.UID                   `json:"uid"`
	Kind        metav1.GroupVersionKind     `json:"kind"`
	Resource    metav1.GroupVersionResource `json:"resource"`
	SubResource string                      `json:"subResource"`
	Operation   admissionv1.Operation       `json:"operation"`
	Namespace   string                      `json:"namespace"`
	DryRun      bool                        `json:"dryRun"`
}

// rawReview is review with the object left raw: decoded only when the
// review and its pod do not decode in one pass, to tell a bad review (400)
// from a good one whose object is not a pod (admitted, fail-open).
type rawReview struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Request    *struct {
		requestHeader
		Object json.RawMessage `json:"object"`
	} `json:"request"`
}

// decodeReview parses an AdmissionReview of admission.k8s.io/v1 or v1beta1,
// the pod in it included, keeping its version so the answer can be given in
// kind. Keys are matched case-sensitively, as the API server does.
func decodeReview(body []byte) (*review, error) {
	var rv review
	err := unmarshal(body, &rv)
	if err != nil {
		rv, err = decodeRawReview(body)
	}
	tm := metav1.TypeMeta{APIVersion: rv.APIVersion, Kind: rv.Kind}
	if err != nil {
		// Say what the body is when it is JSON of another kind: that is the
		// clearer message. Only this error path decodes the body thrice.
		tm = metav1.TypeMeta{}
		if terr := unmarshal(body, &tm); terr != nil {
			return nil, fmt.Errorf("body is not a JSON object: %w", terr)
		}
	}
	if tm.Kind != "AdmissionReview" ||
		(tm.APIVersion != admissionv1.SchemeGroupVersion.String() && tm.APIVersion != admissionv1beta1.SchemeGroupVersion.String()) {
		return nil, fmt.Errorf("not an AdmissionReview: got apiVersion %q kind %q, want admission.k8s.io/v1 (or v1beta1) AdmissionReview", tm.APIVersion, tm.Kind)
	}
	if err != nil {
		return nil, fmt.Errorf("decode AdmissionReview: %w", err)
	}
	if rv.Request == nil {
		return nil, errors.New("AdmissionReview has no request")
	}
	if rv.Request.UID == "" {
		return nil, errors.New("AdmissionReview request has no uid")
	}
	return &rv, nil
}

// decodeRawReview decodes body with the object left raw. When that works,
// the error was in the object: it is decoded again on its own, so that the
// error says where in the pod it is, and kept in objectErr.
func decodeRawReview(body []byte) (review, error) {
	var raw rawReview
	if err := unmarshal(body, &raw); err != nil {
		return review{APIVersion: raw.APIVersion, Kind: raw.Kind}, err
	}
	rv := review{APIVersion: raw.APIVersion, Kind: raw.Kind}
	if raw.Request != nil {
		rv.Request = &request{requestHeader: raw.Request.requestHeader}
		if obj := raw.Request.Object; len(obj) > 0 && string(obj) != "null" {
			var pod corev1.Pod
			err := unmarshal(obj, &pod)
			if err == nil { // cannot happen: the object failed to decode as a pod a moment ago
				err = errors.New("the object decodes as a pod only on its own")
			}
			rv.Request.objectErr = fmt.Errorf("decode pod: %w", err)
		}
	}
	return rv, nil
}

// unmarshal decodes JSON as the API server does: keys case-sensitively.
func unmarshal(data []byte, v any) error {
	// Invalid UTF-8 the reference turns into U+FFFD, the fast one keeps: the
	// API server never sends it (it encodes what it decoded), so the
	// reference decodes such a body.
	if utf8.Valid(data) && json.Valid(data) && caseSensitive.Unmarshal(data, v) == nil {
		return nil
	}
	// The reference decoder (the API server's) has the last word on what is
	// malformed, with the clearer error message.
	return sigsjson.UnmarshalCaseSensitivePreserveInts(data, v)
}

// caseSensitive decodes as the API server does (keys matched exactly, unknown
// ones ignored) at about a third of sigs.k8s.io/json's cost: the JSON decode
// of the review and its pod is most of an admission's CPU. It is the
// configuration the API server itself decoded with until Kubernetes 1.23;
// tests compare it with sigs.k8s.io/json on every golden review and in the
// fuzz target.
var caseSensitive = jsoniter.Config{CaseSensitive: true, ValidateJsonRawMessage: true}.Froze()

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
