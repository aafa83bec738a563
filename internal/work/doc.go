// Package work owns Banyan's work model: the kinds of task a project can hold,
// the schema a project declares for its tasks, how answers are validated and
// normalised, and the states a task moves through.
//
// It is pure logic: no I/O, no database, nothing of Banyan's own imported, so
// every rule here can be tested and benchmarked on its own.
package work
