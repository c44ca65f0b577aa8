package webhook

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	sigsjson "sigs.k8s.io/json"
)

// TestDecodeReview: the review and the pod in it are decoded in one pass;
// a bad review is an error (400), a good review whose object is not a pod
// is not (the pod is admitted, fail-open), and keys match case-sensitively.
func TestDecodeReview(t *testing.T) {
	const head = `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u1","kind":{"version":"v1","kind":"Pod"},"operation":"CREATE","namespace":"a"`
	cases := []struct {
		name      string
		body      string
		err       string // the decode error, or "" for a review
		objectErr string // when the object is not a pod
		podName   string // when a pod decodes
		noObject  bool
		dryRun    bool
	}{
		{name: "pod", body: head + `,"object":{"metadata":{"name":"p"}}}}`, podName: "p"},
		{name: "v1beta1", body: strings.Replace(head, "admission.k8s.io/v1", "admission.k8s.io/v1beta1", 1) + `,"object":{"metadata":{"name":"p"}}}}`, podName: "p"},
		{name: "dry run", body: head + `,"dryRun":true,"object":{"metadata":{"name":"p"}}}}`, podName: "p", dryRun: true},
		{name: "no object", body: head + `}}`, noObject: true},
		{name: "null object", body: head + `,"object":null}}`, noObject: true},
		{name: "object not a pod", body: head + `,"object":{"spec":"nope"}}}`, objectErr: "decode pod: json: cannot unmarshal string into Go struct field Pod.spec"},
		{name: "object not JSON of a pod", body: head + `,"object":[1,2]}}`, objectErr: "decode pod"},
		{name: "what is not read is not checked", body: head + `,"userInfo":5,"oldObject":"x","object":{"metadata":{"name":"p"}}}}`, podName: "p"},
		{name: "keys are case-sensitive", body: head + `,"object":{"metadata":{"Name":"p"}}}}`, podName: ""},
		{name: "request key in another case", body: `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","Request":{"uid":"u1"}}`, err: "has no request"},
		{name: "bad uid", body: `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":5,"object":{}}}`, err: "decode AdmissionReview"},
		{name: "bad uid and bad pod", body: `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":5,"object":{"spec":1}}}`, err: "decode AdmissionReview"},
		{name: "truncated", body: head + `,"object":{"metadata":`, err: "not a JSON object"},
		{name: "another kind", body: `{"apiVersion":"v1","kind":"Pod","request":5}`, err: `not an AdmissionReview: got apiVersion "v1" kind "Pod"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rv, err := decodeReview([]byte(tc.body))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			req := rv.Request
			if req.UID != "u1" || req.Namespace != "a" || req.Kind.Kind != "Pod" || req.DryRun != tc.dryRun {
				t.Errorf("request %+v", req.requestHeader)
			}
			switch {
			case tc.objectErr != "":
				if req.objectErr == nil || !strings.Contains(req.objectErr.Error(), tc.objectErr) {
					t.Errorf("object error %v, want one containing %q", req.objectErr, tc.objectErr)
				}
			case tc.noObject:
				if req.Object != nil || req.objectErr != nil {
					t.Errorf("object %v (error %v), want none", req.Object, req.objectErr)
				}
			default:
				if req.objectErr != nil || req.Object == nil || req.Object.Name != tc.podName {
					t.Errorf("pod %v (error %v), want one named %q", req.Object, req.objectErr, tc.podName)
				}
			}
		})
	}
}

// The fast decoder must see every review as the API server's decoder does
// (sigs.k8s.io/json, case-sensitive): on the golden reviews and, in
// FuzzDecodersAgree, on any valid JSON.
func TestDecodersAgree(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "golden", "*.review.json"))
	if len(files) == 0 {
		t.Fatal("no golden reviews")
	}
	for _, f := range files {
		checkDecodersAgree(t, readFile(t, f))
	}
	checkDecodersAgree(t, benchReview(t, 10))

	// Invalid UTF-8 (which the API server never sends): unmarshal decodes it
	// as the reference does, U+FFFD for the bad byte.
	bad := []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","object":{"spec":{"containers":[{"name":"a@b"}]}}}}`)
	bad = bytes.Replace(bad, []byte("@"), []byte{0x90}, 1)
	var got, want review
	if err := unmarshal(bad, &got); err != nil {
		t.Fatal(err)
	}
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(bad, &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) || got.Request.Object == nil || got.Request.Object.Spec.Containers[0].Name != "a\uFFFDb" {
		t.Errorf("invalid UTF-8 decoded as %+v, want the reference's %+v", got.Request, want.Request)
	}
}

func FuzzDecodersAgree(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "golden", "*.review.json"))
	for _, file := range files {
		f.Add(readFile(f, file))
	}
	f.Add([]byte(`{"request":{"uid":"a","object":{"metadata":{"Name":"x","name":"y"},"spec":{"containers":[{"name":"\ud83d\ude80","command":["a"]}]}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if json.Valid(data) && utf8.Valid(data) {
			checkDecodersAgree(t, data)
		}
	})
}

func checkDecodersAgree(t testing.TB, data []byte) {
	t.Helper()
	var fast, ref review
	ferr := caseSensitive.Unmarshal(data, &fast)
	rerr := sigsjson.UnmarshalCaseSensitivePreserveInts(data, &ref)
	if rerr != nil {
		return // the reference refuses it: unmarshal answers with the reference's error
	}
	if ferr != nil {
		return // the fast decoder refuses what the reference takes: unmarshal falls back to it
	}
	if !reflect.DeepEqual(fast, ref) {
		t.Errorf("decoders disagree on %q:\nfast %+v\nref  %+v", data, fast, ref)
	}
}
