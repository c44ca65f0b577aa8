// Package certs is the webhook's serving certificate, from one of two sources.
//
// With cert-manager, Source reads the certificate and key from files (the
// mounted Secret cert-manager writes) and reloads them when they change
// (cert-manager's pkg/server/tls file source), so a renewed certificate is
// served without a restart.
//
// Without it, Manager keeps a private CA and a serving certificate in a Secret
// and the CA in the caBundle of the webhook's own
// MutatingWebhookConfiguration, the way Gatekeeper's cert-controller and
// Kyverno do, and renews both well before they expire. The replicas of the
// webhook agree through the Secret alone: every write is conditional on the
// resourceVersion read, so exactly one of several racing replicas wins and
// the others re-read. A new CA is trusted in the caBundle, next to the old
// one, before any serving certificate it signs is served.
//
// Generate makes a CA and a serving certificate for development and tests.
// Every certificate is made with cert-manager's pkg/util/pki.
package certs
