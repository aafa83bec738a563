package project_test

import (
	"testing"
	"time"

	"banyan/internal/project"
)

func TestDueRule(t *testing.T) {
	t.Parallel()
	uploaded := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	deadline := uploaded.Add(30 * time.Hour)
	tests := []struct {
		name     string
		rule     project.DueRule
		deadline *time.Time
		priority int
		want     time.Time
	}{
		{"a deadline stands", project.DefaultDueRule, &deadline, 0, deadline},
		{"no deadline: 7 days after upload", project.DefaultDueRule, nil, 0, uploaded.Add(7 * 24 * time.Hour)},
		{"priority 2: two days earlier", project.DefaultDueRule, &deadline, 2, deadline.Add(-48 * time.Hour)},
		{"priority 3 without a deadline", project.DefaultDueRule, nil, 3, uploaded.Add(4 * 24 * time.Hour)},
		{"a step of 0 ignores priority", project.DueRule{Undated: time.Hour}, nil, 3, uploaded.Add(time.Hour)},
	}
	for _, tc := range tests {
		if got := tc.rule.Due(uploaded, tc.deadline, tc.priority); !got.Equal(tc.want) {
			t.Fatalf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}
