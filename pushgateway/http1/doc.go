// Package http1 is a minimal HTTP/1.1 client: one request per connection
// (Connection: close), a body sent with Content-Length, a response body
// delimited by Content-Length, chunked transfer coding or the end of the
// connection, http:// and https:// (crypto/tls), and every step bounded by
// the request's context.
//
// It exists because the in-pod agent is copied into every job pod and runs
// at every liveness probe: net/http alone would make the agent larger than
// its size goal and its package initialisers cost time at every start. The
// agent needs nothing net/http has beyond this: no keep-alive, redirects,
// cookies, compression or HTTP/2. The tests use net/http/httptest servers
// and a real Pushgateway as the oracles.
package http1
