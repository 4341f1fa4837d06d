package bench

import (
	"math/bits"
	"time"
)

// subBuckets is the number of buckets per power of two: values are kept to within 1/64.
const subBuckets = 64

// Hist is a log-linear latency histogram in microseconds (HDR-like): exact below 128 µs,
// then 64 buckets per power of two. Histograms of several processes merge by adding counts.
type Hist struct {
	Counts []uint64 `json:"counts"`
	N      uint64   `json:"n"`
	Max    uint64   `json:"maxMicros"`
}

func bucketOf(us uint64) int {
	if us < 2*subBuckets {
		return int(us)
	}
	e := bits.Len64(us) - 7 // us>>e is within [64, 128)
	return subBuckets*e + int(us>>e)
}

// lowerBound is the smallest value that falls into bucket i.
func lowerBound(i int) uint64 {
	if i < 2*subBuckets {
		return uint64(i)
	}
	e := i/subBuckets - 1
	return uint64(i-subBuckets*e) << e
}

// Record adds one latency.
func (h *Hist) Record(d time.Duration) {
	us := uint64(max(d, 0) / time.Microsecond)
	i := bucketOf(us)
	if i >= len(h.Counts) {
		h.Counts = append(h.Counts, make([]uint64, i+1-len(h.Counts))...)
	}
	h.Counts[i]++
	h.N++
	h.Max = max(h.Max, us)
}

// Merge adds o's counts to h.
func (h *Hist) Merge(o Hist) {
	if len(o.Counts) > len(h.Counts) {
		h.Counts = append(h.Counts, make([]uint64, len(o.Counts)-len(h.Counts))...)
	}
	for i, c := range o.Counts {
		h.Counts[i] += c
	}
	h.N += o.N
	h.Max = max(h.Max, o.Max)
}

// Quantile is the latency below which a fraction q of the values lie (the middle of its
// bucket; the maximum for q = 1). Zero when empty.
func (h *Hist) Quantile(q float64) time.Duration {
	if h.N == 0 {
		return 0
	}
	rank := uint64(q*float64(h.N) + 0.5)
	rank = min(max(rank, 1), h.N)
	var seen uint64
	for i, c := range h.Counts {
		seen += c
		if seen >= rank {
			lo, hi := lowerBound(i), lowerBound(i+1)
			v := min((lo+hi)/2, h.Max)
			return time.Duration(v) * time.Microsecond
		}
	}
	return time.Duration(h.Max) * time.Microsecond
}
