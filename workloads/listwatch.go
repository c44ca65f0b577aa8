package workloads

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
)

// DefaultPageSize is how many objects one page of the first listing holds:
// the most ever held unstripped at once on the list path.
const DefaultPageSize = 500

// strippedListWatch lists and watches with list and watch, stripping every
// object before it is kept.
//
// client-go's reflector (v0.36) fills an informer in one of two ways:
//
//   - WatchList (feature gate WatchListClient, on by default since v0.35,
//     used when the API server supports it): one watch with
//     sendInitialEvents=true streams every object as an ADDED event and a
//     bookmark ends the initial state. The events come through the watch
//     returned here, which strips each one as it is decoded: one whole object
//     at a time.
//   - LIST then WATCH (the fallback): the reflector's pager asks for pages,
//     but its first list uses resourceVersion=0, which the API server's watch
//     cache answers in one response whatever the limit, and the pager keeps
//     every page's whole objects until the last one arrived. The list
//     function here ignores the reflector's paging: it reads pages of
//     pageSize itself (resourceVersion unset, so the limit is honoured and the
//     continue token keeps one consistent snapshot), strips each page before
//     asking for the next, and answers with one list of stripped objects.
//
// A relist after a watch expired takes the same paths, so the steady state
// never holds a whole object longer than one event either.
func strippedListWatch(
	list func(context.Context, metav1.ListOptions) (runtime.Object, error),
	watchFn func(context.Context, metav1.ListOptions) (watch.Interface, error),
	strip func(runtime.Object) runtime.Object,
	pageSize int64,
	client any,
) cache.ListerWatcher {
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			return pagedList(ctx, list, strip, opts, pageSize)
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			w, err := watchFn(ctx, opts)
			if err != nil {
				return nil, err
			}
			return watch.Filter(w, func(e watch.Event) (watch.Event, bool) {
				switch e.Type {
				case watch.Added, watch.Modified, watch.Deleted:
					e.Object = strip(e.Object)
				}
				return e, true
			}), nil
		},
	}
	// A client that cannot stream (client-go's fake clientset) says so; the
	// reflector then lists.
	return cache.ToListWatcherWithWatchListSemantics(lw, client)
}

// pagedList lists every object matching opts' selectors in pages of
// pageSize and returns them stripped, in one list at the snapshot's resource
// version. The list is a metav1.List of RawExtensions holding the stripped
// objects themselves: the reflector extracts those as they are, where a
// typed list's items would be copied once into the list and once more out
// of it.
func pagedList(ctx context.Context, list func(context.Context, metav1.ListOptions) (runtime.Object, error),
	strip func(runtime.Object) runtime.Object, opts metav1.ListOptions, pageSize int64) (runtime.Object, error) {
	opts.ResourceVersion, opts.ResourceVersionMatch, opts.Continue = "", "", ""
	opts.Limit = pageSize
	out := &metav1.List{}
	for {
		page, err := list(ctx, opts)
		if err != nil {
			return nil, err
		}
		if err := meta.EachListItem(page, func(o runtime.Object) error {
			out.Items = append(out.Items, runtime.RawExtension{Object: strip(o)})
			return nil
		}); err != nil {
			return nil, fmt.Errorf("list page: %w", err)
		}
		lm, err := meta.ListAccessor(page)
		if err != nil {
			return nil, fmt.Errorf("list page: %w", err)
		}
		if lm.GetContinue() == "" {
			out.ResourceVersion = lm.GetResourceVersion()
			return out, nil
		}
		opts.Continue = lm.GetContinue()
	}
}
