package quality

import "testing"

// BenchmarkAuditAccuracy is one batch report's estimate: two reviewers'
// audits of a batch of 10,000 results.
func BenchmarkAuditAccuracy(b *testing.B) {
	groups := []AuditGroup{{Agreed: 380, Disagreed: 20, Reviewer: Skill{Alpha: 40, Beta: 2}}, {Agreed: 190, Disagreed: 10, Reviewer: SkillPrior}}
	for b.Loop() {
		AuditAccuracy(groups, 0.25, 10000)
	}
}
