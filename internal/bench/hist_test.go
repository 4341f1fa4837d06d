package bench

import (
	"testing"
	"time"
)

func TestHistQuantiles(t *testing.T) {
	var a, b Hist
	for i := 1; i <= 1000; i++ {
		a.Record(time.Duration(i) * time.Millisecond)
	}
	b.Record(5 * time.Second)
	a.Merge(b)
	if a.N != 1001 {
		t.Fatalf("N = %d, want 1001", a.N)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Millisecond}, {0.99, 990 * time.Millisecond}, {1, 5 * time.Second}} {
		got := a.Quantile(c.q)
		if d := got - c.want; d < -c.want/50 || d > c.want/50 {
			t.Errorf("q%g = %v, want %v ± 2 %%", c.q, got, c.want)
		}
	}
	for us := uint64(0); us < 1<<22; us = us*9/8 + 1 {
		if i := bucketOf(us); lowerBound(i) > us || lowerBound(i+1) <= us {
			t.Fatalf("%d µs: bucket %d spans [%d, %d)", us, i, lowerBound(i), lowerBound(i+1))
		}
	}
	var empty Hist
	if empty.Quantile(0.99) != 0 {
		t.Error("an empty histogram has no quantiles")
	}
}
