package cnibench

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// percentile is the nearest-rank p-th percentile (0 < p ≤ 100) of ds; 0
// for no samples.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[min(max(rank, 1), len(s))-1]
}

// figures are one plugin's results.
type figures struct {
	name             string
	addP50, addP99   time.Duration
	delP50, delP99   time.Duration
	churnPodsPerSec  float64
	pods, churnPods  int
	churnParallelism int
}

// summarize computes a plugin's figures from its samples.
func summarize(name string, add, del []time.Duration, churnPods, parallel int, churn time.Duration) figures {
	f := figures{
		name: name, pods: len(add), churnPods: churnPods, churnParallelism: parallel,
		addP50: percentile(add, 50), addP99: percentile(add, 99),
		delP50: percentile(del, 50), delP99: percentile(del, 99),
	}
	if churn > 0 {
		f.churnPodsPerSec = float64(churnPods) / churn.Seconds()
	}
	return f
}

// ratio is a/b, or NaN when b is zero.
func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

// ratioLine is the report's last line, in the form `make bench` readers
// grep for.
func ratioLine(ours, ref figures) string {
	return fmt.Sprintf("vpc-cni/ptp ADD p50 ratio: %.2f", ratio(ours.addP50, ref.addP50))
}

// ms renders a duration in milliseconds with two decimals.
func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

// report is the comparison table followed by the ratio line; ours comes
// first, the reference second; setup says where it ran.
func report(ours, ref figures, setup string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nCNI ADD/DEL through libcni, cniVersion 1.0.0, %d pods each, sequential and interleaved; churn: ADD+DEL of %d pods, %d in parallel\n",
		ours.pods, ours.churnPods, ours.churnParallelism)
	if setup != "" {
		fmt.Fprintf(&b, "%s\n", setup)
	}
	fmt.Fprintf(&b, "%-18s %10s %10s %10s %10s %14s\n", "plugin", "ADD p50", "ADD p99", "DEL p50", "DEL p99", "churn pods/s")
	for _, f := range []figures{ours, ref} {
		fmt.Fprintf(&b, "%-18s %10s %10s %10s %10s %14.1f\n", f.name, ms(f.addP50), ms(f.addP99), ms(f.delP50), ms(f.delP99), f.churnPodsPerSec)
	}
	fmt.Fprintf(&b, "vpc-cni/ptp DEL p50 ratio: %.2f, churn pods/s ratio: %.2f\n",
		ratio(ours.delP50, ref.delP50), ours.churnPodsPerSec/ref.churnPodsPerSec)
	b.WriteString(ratioLine(ours, ref))
	b.WriteString("\n")
	return b.String()
}

func TestPercentile(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		out := make([]time.Duration, len(ns))
		for i, n := range ns {
			out[i] = time.Duration(n) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[99-i] = i + 1 // 100 … 1, unsorted on purpose
	}
	for _, tc := range []struct {
		name string
		ds   []time.Duration
		p    float64
		want time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one", ms(7), 99, 7 * time.Millisecond},
		{"median of odd", ms(3, 1, 2), 50, 2 * time.Millisecond},
		{"median of even is the lower", ms(4, 1, 3, 2), 50, 2 * time.Millisecond},
		{"p50 of 100", ms(hundred...), 50, 50 * time.Millisecond},
		{"p99 of 100", ms(hundred...), 99, 99 * time.Millisecond},
		{"p100 is the max", ms(hundred...), 100, 100 * time.Millisecond},
		{"tiny p is the min", ms(hundred...), 0.1, time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := percentile(tc.ds, tc.p); got != tc.want {
				t.Errorf("percentile(%v, %v) = %v, want %v", tc.ds, tc.p, got, tc.want)
			}
		})
	}
}

func TestReportEndsWithRatioLine(t *testing.T) {
	ours := summarize("vpc-cni", []time.Duration{3 * time.Millisecond}, []time.Duration{2 * time.Millisecond}, 10, 8, time.Second)
	ref := summarize("ptp + host-local", []time.Duration{4 * time.Millisecond}, []time.Duration{2 * time.Millisecond}, 10, 8, 2*time.Second)
	for _, tc := range []struct {
		name  string
		ours  figures
		ref   figures
		final string
	}{
		{"faster", ours, ref, "vpc-cni/ptp ADD p50 ratio: 0.75"},
		{"slower", ref, ours, "vpc-cni/ptp ADD p50 ratio: 1.33"},
		{"no reference", ours, figures{}, "vpc-cni/ptp ADD p50 ratio: NaN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := report(tc.ours, tc.ref, "state on tmpfs")
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if got := lines[len(lines)-1]; got != tc.final {
				t.Errorf("last line %q, want %q\n%s", got, tc.final, out)
			}
			if !strings.Contains(out, tc.ours.name) || !strings.Contains(out, "churn pods/s") {
				t.Errorf("table lacks a row or a column:\n%s", out)
			}
		})
	}
	if ours.churnPodsPerSec != 10 || ref.churnPodsPerSec != 5 {
		t.Errorf("churn pods/s = %v, %v; want 10, 5", ours.churnPodsPerSec, ref.churnPodsPerSec)
	}
}
