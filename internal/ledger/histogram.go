package ledger

import (
	"sort"
	"time"
)

// bucketBoundsUS are the inclusive upper bounds of the latency histogram buckets, in
// microseconds. The last bucket (index len(bucketBoundsUS)) holds everything longer.
// Steps of at most ×1.67 bound the error of an interpolated percentile to well
// under a bucket width; the fine low end keeps cache hits (sub-millisecond) apart.
var bucketBoundsUS = [...]int64{
	100, 200, 500,
	1_000, 1_500, 2_000, 3_000, 5_000, 7_000,
	10_000, 15_000, 20_000, 30_000, 50_000, 70_000,
	100_000, 150_000, 200_000, 300_000, 500_000, 700_000,
	1_000_000, 1_500_000, 2_000_000, 3_000_000, 5_000_000, 7_000_000,
	10_000_000, 15_000_000, 20_000_000, 30_000_000, 50_000_000, 70_000_000,
	100_000_000, 300_000_000,
}

// NumBuckets is the number of buckets in a Histogram.
const NumBuckets = len(bucketBoundsUS) + 1

// Histogram counts durations in fixed buckets. It is additive, so rollups store it
// and percentiles over any range are computed from summed buckets.
type Histogram [NumBuckets]int64

// BucketOf returns the index of the bucket that holds d.
func BucketOf(d time.Duration) int {
	us := d.Microseconds()
	return sort.Search(len(bucketBoundsUS), func(i int) bool { return us <= bucketBoundsUS[i] })
}

// BucketUpperBound returns the inclusive upper bound of bucket i, or 0 for the last
// (unbounded) bucket.
func BucketUpperBound(i int) time.Duration {
	if i >= len(bucketBoundsUS) {
		return 0
	}
	return time.Duration(bucketBoundsUS[i]) * time.Microsecond
}

// Observe counts one duration.
func (h *Histogram) Observe(d time.Duration) { h[BucketOf(d)]++ }

// Merge adds o into h.
func (h *Histogram) Merge(o *Histogram) {
	for i := range h {
		h[i] += o[i]
	}
}

// Count is the number of observations.
func (h *Histogram) Count() int64 {
	var n int64
	for _, c := range h {
		n += c
	}
	return n
}

// Quantile estimates the q-quantile (0 < q ≤ 1) by linear interpolation inside the
// bucket that holds it; 0 when the histogram is empty. Observations beyond the last
// bound are reported as that bound.
func (h *Histogram) Quantile(q float64) time.Duration {
	n := h.Count()
	if n == 0 {
		return 0
	}
	rank := q * float64(n)
	var cum float64
	for i, c := range h {
		if c == 0 {
			continue
		}
		if cum+float64(c) >= rank {
			if i >= len(bucketBoundsUS) {
				return time.Duration(bucketBoundsUS[len(bucketBoundsUS)-1]) * time.Microsecond
			}
			lo := int64(0)
			if i > 0 {
				lo = bucketBoundsUS[i-1]
			}
			hi := bucketBoundsUS[i]
			frac := (rank - cum) / float64(c)
			return time.Duration(float64(lo)+frac*float64(hi-lo)) * time.Microsecond
		}
		cum += float64(c)
	}
	return time.Duration(bucketBoundsUS[len(bucketBoundsUS)-1]) * time.Microsecond
}
