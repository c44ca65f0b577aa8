// Package workloads holds the webhook's view of the cluster: informers on
// batch/v1 Jobs and CronJobs and on the pods jobcheck injected (label
// contract.LabelInjected), each object stripped to what the admission owner
// lookup and the run watcher read.
//
// A cluster may hold tens of thousands of Jobs, and every replica of the
// webhook caches them all, so memory is bounded twice: what is kept is small
// (no managed fields, no pod templates, no pod specs beyond the env values of
// the wrapped containers), and nothing whole is ever held in bulk on the way
// in. client-go's reflector would otherwise hold the whole first listing,
// unstripped, before its transform runs; here the list is paged and each page
// is stripped before the next is read, and every watch event (including the
// initial events of a WatchList stream) is stripped as it is decoded.
// docs/runs.md describes both paths and their measured peaks.
package workloads
