package api

import (
	"time"

	"banyan/internal/ledger"
	"banyan/internal/work"
)

// The replies of routes that answer with a few fields rather than a stored
// record. Each is a named type so the OpenAPI document describes exactly
// what is sent.

// meOut is who a token belongs to.
type meOut struct {
	UserID  string `json:"user_id"`
	Name    string `json:"name"`
	OrgID   string `json:"org_id"`
	Role    string `json:"role"`
	TokenID string `json:"token_id"`
}

// Created names a record just made.
type Created struct {
	ID string `json:"id"`
}

// declarationOut is a worker's latest self-declaration.
type declarationOut struct {
	Declaration work.Declaration `json:"declaration"`
	DeclaredAt  time.Time        `json:"declared_at"`
}

// erasedOut counts the declarations erased when consent is withdrawn.
type erasedOut struct {
	Erased int64 `json:"erased"`
}

// recallOut counts the leases taken back from a center.
type recallOut struct {
	Recalled int `json:"recalled"`
}

// revokeOut counts a center's sync tokens revoked.
type revokeOut struct {
	CenterID      string `json:"center_id"`
	TokensRevoked int64  `json:"tokens_revoked"`
}

// ledgerOut is the ledger's verification and its totals.
type ledgerOut struct {
	Verify ledger.Report `json:"verify"`
	Money  ledger.Money  `json:"money"`
}

// payeeOut is where a party's pay goes.
type payeeOut struct {
	PartyID string `json:"party_id"`
	UPIID   string `json:"upi_id"`
}

// payoutOut is a center's payout for a period, as JSON.
type payoutOut struct {
	From       string              `json:"from"`
	To         string              `json:"to"`
	Workers    []ledger.PayoutLine `json:"workers"`
	Center     ledger.PayoutLine   `json:"center"`
	MissingUPI int                 `json:"missing_upi"`
}

// signInOut is a sign-in secret, shown once: a PIN for a worker, a
// password for anyone else.
type signInOut struct {
	UserID   string `json:"user_id"`
	Login    string `json:"login"`
	PIN      string `json:"pin,omitempty"`
	Password string `json:"password,omitempty"`
}

// resolveOut is a task a reviewer settled, or whose reply they scored on
// its project's rubric.
type resolveOut struct {
	TaskID string         `json:"task_id"`
	State  work.TaskState `json:"state"`
	// Answer is the task's result, when it has one now.
	Answer *work.Answer `json:"answer,omitempty"`
	// Passed says, for scores on a rubric, whether the reply passed.
	Passed *bool `json:"passed,omitempty"`
}

// AnswerReply is what became of a worker's answer.
type AnswerReply struct {
	AssignmentID string `json:"assignment_id"`
	// Status is accepted, duplicate, too_fast or late.
	Status string `json:"status"`
}

// itemOut is the next item of a training or qualification attempt.
type itemOut struct {
	AttemptID    string          `json:"attempt_id"`
	Item         work.CourseItem `json:"item"`
	Of           int             `json:"of"`
	Kind         work.Kind       `json:"kind"`
	Purpose      string          `json:"purpose"`
	Instructions string          `json:"instructions"`
	Schema       *work.Schema    `json:"schema"`
}

// bonusOut is a bonus paid (or, on a repeated key, the one paid before).
type bonusOut struct {
	WorkerID string `json:"worker_id"`
	Amount   int64  `json:"amount"`
	Reason   string `json:"reason"`
	New      bool   `json:"new"`
}

// reworkOut is a delivered result the client rejected: the task is open
// for rework and the price credited.
type reworkOut struct {
	TaskID   string `json:"task_id"`
	State    string `json:"state"`
	Credited string `json:"credited"`
}

// attemptAnswerOut is what a worker learns of an answer in a course: in
// training, the score, the expected answer and why; in a qualification,
// only the attempt's progress.
type attemptAnswerOut struct {
	Attempt work.Attempt `json:"attempt"`
	// Pending says the hub has yet to score a finished qualification
	// taken at a village center.
	Pending     string       `json:"pending,omitempty"`
	Score       *float64     `json:"score,omitempty"`
	Expected    *work.Answer `json:"expected,omitempty"`
	Explanation *string      `json:"explanation,omitempty"`
}
