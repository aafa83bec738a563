package review_test

import (
	"context"
	"errors"
	"testing"

	"banyan/internal/review"
	"banyan/internal/store"
	"banyan/internal/store/storetest"
	"banyan/internal/uplink"
	"banyan/internal/uplink/wire"
	"banyan/internal/work"
)

// A center reviewer checks an answer once: the review is kept with its
// corrected answer and goes up; a second check of the same answer by the
// same reviewer is a conflict.
func TestRecordReviewOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t, store.Options{Outbox: uplink.AppendOutbox})
	people := workers(t, st, 2)
	answer := work.NewID()
	first := review.ReviewRecord{AssignmentID: answer, ReviewerID: people[0].ID, Verdict: work.VerdictDisagree,
		Answer: &work.Answer{Label: "b"}, Note: "it is b"}
	if _, err := review.RecordReview(ctx, st, first); err != nil {
		t.Fatal(err)
	}
	again := review.ReviewRecord{AssignmentID: answer, ReviewerID: people[0].ID, Verdict: work.VerdictAgree, Note: ""}
	if _, err := review.RecordReview(ctx, st, again); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a second review by the same reviewer: %v; want a conflict", err)
	}
	second := review.ReviewRecord{AssignmentID: answer, ReviewerID: people[1].ID, Verdict: work.VerdictAgree, Note: ""}
	if _, err := review.RecordReview(ctx, st, second); err != nil {
		t.Fatal(err)
	}
	got, err := review.AnswerReviews(ctx, st, answer)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ReviewerID != people[0].ID || got[0].Answer == nil || got[0].Answer.Label != "b" ||
		got[0].Note != "it is b" || got[1].ReviewerID != people[1].ID || got[1].Answer != nil {
		t.Fatalf("reviews: %+v", got)
	}
	pending, err := (&uplink.Outbox{Store: st}).Pending(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 2 || pending[0].Kind != wire.KindReview || pending[1].Kind != wire.KindReview {
		t.Fatalf("outbox: %+v; want the two reviews", pending)
	}
}
