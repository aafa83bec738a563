// Package report owns the reports the hub makes of its work, with their
// SQL: the impact report the business shows its funders (impact.go), with
// the self-declarations it counts, their recording (at the hub or a
// village center, and as a center sends them up) and their withdrawal
// (declarations.go); the ops board's figures, the hub's gauges' counts
// and each center's link as the hub knows it (ops.go); and what a
// worker's home page shows of their day (day.go).
// Planning reports join it. A report reads across the domains' tables on
// the store's read side and changes nothing; recording and withdrawing
// declarations are the writes.
//
// The impact report gives jobs, workers, hours and earnings, who the
// workers are (from what they chose to declare), whether they stay, and
// how many villages the work reaches. Every figure is an aggregate,
// defined in the report itself; no figure is shown for a person, and a
// group of fewer than MinGroup people is suppressed, as is its
// complement, so it cannot be found by subtraction from a total. Hours
// rest on ActiveTime, the one statement of a worker's active time.
package report
