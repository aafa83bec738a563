// Package uplink owns the hub↔center sync protocol's two ends: the hub's
// handler under /uplink/v1, with a receiver for each kind of record a
// center uploads, and the center's side: the outbox its records queue in
// until the hub has them (outbox.go), and the syncer, which sends the
// outbox up, keeps the leases granted and applies the hub's feed through
// what it needs of the center's local store (Local). What travels between
// them is declared in
// package wire. Centers sit behind slow, lossy links, so every call is
// idempotent: records carry ids made once at the center, the hub answers
// each item on its own, and a replay is answered "duplicate".
//
// Every request names its protocol version in the Banyan-Protocol header;
// a hub answers a version it does not speak with 426 and says which it
// does, so a center that is behind knows to upgrade. Bodies may be zstd or
// gzip compressed (Content-Encoding).
package uplink
