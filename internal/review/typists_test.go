package review_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"iter"
	"math/rand/v2"
	"strings"
	"testing"

	"banyan/internal/auth"
	"banyan/internal/dispatch"
	"banyan/internal/project"
	"banyan/internal/quality"
	"banyan/internal/review"
	"banyan/internal/store"
	"banyan/internal/store/storetest"
	"banyan/internal/work"
)

// typist is a simulated transcriber who mishears a line with a known
// chance (the same way as every other typist who mishears it) and slips
// on each character with a known chance: a wrong letter, a dropped one or
// an extra one.
type typist struct {
	mishear, charError float64
}

var letters = []rune("abcdefghijklmnopqrstuvwxyz")

// typeOut is the typist's transcript of truth. The slips are drawn from a
// generator seeded by the typist and the item, so a transcript does not
// depend on the order in which work is handed out.
func (ty typist) typeOut(seed uint64, truth string) string {
	rng := rand.New(rand.NewPCG(seed, uint64(ty.charError*1e6)))
	heard := truth
	if rng.Float64() < ty.mishear {
		heard = misheard(truth)
	}
	var b strings.Builder
	for _, r := range heard {
		if rng.Float64() >= ty.charError {
			b.WriteRune(r)
			continue
		}
		switch rng.IntN(3) {
		case 0: // a wrong letter
			b.WriteRune(letters[rng.IntN(len(letters))])
		case 1: // a dropped letter
		default: // an extra letter
			b.WriteRune(r)
			b.WriteRune(letters[rng.IntN(len(letters))])
		}
	}
	return b.String()
}

var words = strings.Fields(`the parcel will reach your office by tomorrow morning please call
	back after lunch our agent has noted the complaint and a refund of the full amount is on
	its way the meeting with the bank moved to friday at ten we could not reach the customer at
	the number given the invoice for march was paid in cash at the branch`)

// misheard is how a line is heard wrong: its last two words taken for
// two others, the same for every typist.
func misheard(line string) string {
	ws := strings.Fields(strings.TrimSuffix(line, "."))
	h := fnv.New64a()
	h.Write([]byte(line))
	rng := rand.New(rand.NewPCG(h.Sum64(), 0))
	for i := len(ws) - 2; i < len(ws); i++ {
		w := ws[i]
		for w == ws[i] {
			w = words[rng.IntN(len(words))]
		}
		ws[i] = w
	}
	return strings.Join(ws, " ") + "."
}

// sentence is a spoken line of 60 to 100 characters.
func sentence(rng *rand.Rand) string {
	var b strings.Builder
	for b.Len() < 60 {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(words[rng.IntN(len(words))])
	}
	s := b.String()
	return strings.ToUpper(s[:1]) + s[1:min(len(s), 99)] + "."
}

// within says, independently of the code under test, whether got is a
// transcript of ref within the character error rate maxError: its
// Levenshtein distance in runes from ref, case aside (the typists make no
// other differences that folding removes), over ref's length.
func within(ref, got string, maxError float64) bool {
	a, b := []rune(strings.ToLower(ref)), []rune(strings.ToLower(got))
	row := make([]int, len(b)+1)
	for j := range row {
		row[j] = j
	}
	for i := 1; i <= len(a); i++ {
		diag := row[0]
		row[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			diag, row[j] = row[j], min(row[j]+1, row[j-1]+1, diag+cost)
		}
	}
	return float64(row[len(b)])/float64(len(a)) <= maxError
}

// itemSeed names one item for a typist's slips.
func itemSeed(worker int, item string) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%s", worker, item)
	return h.Sum64()
}

// A crowd of typists of known character error rates, some under the
// project's max_text_error and some over it, transcribes a batch with gold
// mixed in and a share of settled tasks reviewed blind, through the real
// dispatch service. Each typist's true chance of a transcript within the
// threshold (measured apart, on fresh sentences) lies inside the 95 %
// interval of their scored answers, and the share of tasks the workers'
// answers settled right lies inside the batch report's estimated accuracy
// interval.
func TestTypistsLandInTheirIntervals(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, store.Options{})
	d := &dispatch.Service{Store: st}
	ctx := context.Background()
	people := &auth.Service{Store: st}
	c, err := people.CreateOrg(ctx, auth.OrgClient, "client "+t.Name())
	if err != nil {
		t.Fatal(err)
	}
	schema, _ := work.DecodeSchema(work.Transcribe, []byte(`{"inputs":["audio_url"]}`))
	p, err := project.CreateProject(ctx, st, work.Project{ClientID: c.ID, Name: "calls", Kind: work.Transcribe, Schema: schema,
		Overlap: 3, MaxOverlap: 5, AssignmentSeconds: 60, Quality: work.Quality{Language: "en", Method: work.MethodMV, MinGold: 3,
			GoldRatio: 0.2, ReviewRate: 0.3, MaxTextError: work.DefaultMaxTextError}})
	if err != nil {
		t.Fatal(err)
	}

	typists := []typist{{0.1, 0.002}, {0.1, 0.005}, {0.1, 0.01}, {0.1, 0.015}, {0.1, 0.06}, {0.1, 0.12}}
	// Few gold tasks, so that every typist answers all of them: which gold
	// task a claim hands out is drawn at random, and this way the draw
	// changes only the order, never the record.
	const tasks, golds = 150, 6
	rng := rand.New(rand.NewPCG(2026, 11))
	truth := map[string]string{} // audio_url → what was said
	batch := func(n int, purpose string) iter.Seq2[project.NewTask, error] {
		return func(yield func(project.NewTask, error) bool) {
			for i := range n {
				url := fmt.Sprintf("https://example.com/%s/%d.ogg", purpose, i)
				truth[url] = sentence(rng)
				t := project.NewTask{Payload: []byte(`{"audio_url":"` + url + `"}`)}
				if purpose == work.PurposeGold {
					t.Gold, _ = json.Marshal(work.Answer{Text: truth[url]})
				} else {
					t.ExternalID = fmt.Sprint(i)
				}
				if !yield(t, nil) {
					return
				}
			}
		}
	}
	b, err := project.CreateBatch(ctx, st, p, project.BatchSpec{Name: "calls", Purpose: work.PurposeWork}, batch(tasks, work.PurposeWork))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := project.CreateBatch(ctx, st, p, project.BatchSpec{Name: "gold", Purpose: work.PurposeGold}, batch(golds, work.PurposeGold)); err != nil {
		t.Fatal(err)
	}
	said := func(payload []byte) string {
		var in struct {
			AudioURL string `json:"audio_url"`
		}
		if err := json.Unmarshal(payload, &in); err != nil || truth[in.AudioURL] == "" {
			t.Fatalf("payload %s: %v", payload, err)
		}
		return truth[in.AudioURL]
	}

	crowd := workers(t, st, len(typists)+1)
	reviewer := crowd[len(typists)]
	decide := dispatch.Decider(p)
	draws := rand.New(rand.NewPCG(7, 7))
	for busy := true; busy; {
		busy = false
		for i, ty := range typists {
			w := crowd[i]
			a, task, err := d.Claim(ctx, w.ID, p.ID, draws.Float64())
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			busy = true
			answer := work.Answer{Text: ty.typeOut(itemSeed(i, string(task.Payload)), said(task.Payload))}
			if _, err := d.Record(ctx, dispatch.SubmitArgs{Project: p, AssignmentID: a.ID, WorkerID: w.ID, Answer: answer,
				SampleDraw: draws.Float64()}, decide); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A careful reviewer types what was said, blind or not.
	for {
		queue, err := project.ProjectTasks(ctx, st, p.ID, work.TaskNeedsReview, store.Page{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(queue) == 0 {
			break
		}
		for _, task := range queue {
			if err := d.ResolveAnswer(ctx, task.ID, reviewer.ID, work.Answer{Text: said(task.Payload)}); err != nil {
				t.Fatal(err)
			}
		}
	}

	// Each typist's true rate of transcripts within the threshold, from
	// 4,000 fresh sentences, against their record at the hub.
	fresh := rand.New(rand.NewPCG(99, 1))
	for i, ty := range typists {
		right := 0
		for n := range 4000 {
			line := sentence(fresh)
			if within(line, ty.typeOut(itemSeed(i, fmt.Sprint("fresh ", n)), line), p.MaxTextError) {
				right++
			}
		}
		want := float64(right) / 4000
		skills, err := dispatch.Skills(ctx, st, crowd[i].ID)
		if err != nil || len(skills) != 1 {
			t.Fatalf("typist %d: skills %+v, %v", i, skills, err)
		}
		sk := skills[0]
		scoredRight := sk.Alpha - quality.SkillPrior.Alpha
		lo, hi := quality.Wilson(scoredRight, float64(sk.Scored), 1.96)
		if sk.Scored < 20 || want < lo-1e-9 || want > hi+1e-9 {
			t.Fatalf("typist %d (character error %v): %v of %d scored answers right, 95 %% interval [%.3f, %.3f]; true rate %.3f",
				i, ty.charError, scoredRight, sk.Scored, lo, hi, want)
		}
		t.Logf("typist %d (character error %v): true rate %.3f, scored %v of %d, interval [%.3f, %.3f]",
			i, ty.charError, want, scoredRight, sk.Scored, lo, hi)
	}

	// What the workers' answers settled (delivered, or proposed to a blind
	// reviewer), against what was said.
	rows, err := st.Read(ctx).QueryContext(ctx, `SELECT t.payload, r.answer FROM results r JOIN tasks t ON t.id = r.task_id
			WHERE r.batch_id = ? AND r.source = 'agreement'
		UNION ALL SELECT t.payload, t.proposed FROM audits a JOIN tasks t ON t.id = a.task_id WHERE a.batch_id = ?`, b.ID, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	settled, right := 0, 0
	err = store.EachRow(rows, func(r store.Scanner) error {
		var payload, raw string
		if err := r.Scan(&payload, &raw); err != nil {
			return err
		}
		var a work.Answer
		if err := json.Unmarshal([]byte(raw), &a); err != nil {
			return err
		}
		settled++
		if within(said([]byte(payload)), a.Text, p.MaxTextError) {
			right++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err = project.Batch(ctx, st, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := review.BatchQuality(ctx, st, b, p)
	if err != nil {
		t.Fatal(err)
	}
	accuracy := float64(right) / float64(settled)
	est := rep.EstimatedAccuracy
	// The interval's ends are sums of floats: 1e-9 keeps a batch settled
	// all right inside an interval that reaches 1.
	if est == nil || est.Sample < 20 || accuracy < est.Low-1e-9 || accuracy > est.High+1e-9 {
		t.Fatalf("the workers settled %d of %d tasks right (%.3f); the report estimates %+v", right, settled, accuracy, est)
	}
	t.Logf("settled %d of %d right (%.3f); estimated %.3f [%.3f, %.3f] from %d audits",
		right, settled, accuracy, est.Value, est.Low, est.High, est.Sample)

	// The report's agreement counts the answers within the threshold of
	// their task's delivered result.
	rows, err = st.Read(ctx).QueryContext(ctx, `SELECT a.answer, r.answer FROM assignments a JOIN results r ON r.task_id = a.task_id
		WHERE r.batch_id = ? AND a.state = 'submitted' AND a.flag IS NULL`, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	answers, agreeing := 0, 0
	err = store.EachRow(rows, func(r store.Scanner) error {
		var given, result work.Answer
		var rawGiven, rawResult string
		if err := r.Scan(&rawGiven, &rawResult); err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(rawGiven), &given); err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(rawResult), &result); err != nil {
			return err
		}
		answers++
		if within(result.Text, given.Text, p.MaxTextError) {
			agreeing++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := float64(agreeing) / float64(answers); rep.AgreementRate != want {
		t.Fatalf("got agreement rate %v, want %d of %d answers (%v)", rep.AgreementRate, agreeing, answers, want)
	}
}
