package quality

// Medoid returns the index of the item whose distances to all the items
// add up to the least: errs[i][j] is item j's distance from item i, taken
// as the reference (the two directions may differ, as an error rate over
// the reference's length does). On a tie the earliest item wins. It
// returns -1 for no items.
func Medoid(errs [][]float64) int {
	best, bestTotal := -1, 0.0
	for i, row := range errs {
		total := 0.0
		for _, e := range row {
			total += e
		}
		if best < 0 || total < bestTotal {
			best, bestTotal = i, total
		}
	}
	return best
}
