package store

import (
	"context"
)

// The events clients may subscribe to are told to a Notifier — on the
// hub, the webhook package's queue — inside the transaction that causes
// them (see Store.Notify). The project package builds each event's body;
// the subscriptions and deliveries are the webhook package's.

// Notifier queues an event for a client's subscriptions inside tx. build
// returns the client, the body and whether there is anything to tell; a
// notifier calls it only when a subscription may exist, so a hub with
// none does no lookups.
type Notifier interface {
	Notify(ctx context.Context, tx *Tx, event string, build func() (clientID string, body any, ok bool, err error)) error
}

// SetNotifier sets who is told of subscribable events. Call it before the
// store serves; a store without one (a village center) tells nobody.
func (s *Store) SetNotifier(n Notifier) { s.notifier = n }
