package report

import (
	"fmt"
	"io"
	"net/netip"
	"strings"
	"text/tabwriter"
	"time"
)

// errWriter keeps the first write error and drops later writes.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

// section starts a titled block with its count; an empty block says so.
func section(w io.Writer, title string, n int) {
	if n == 0 {
		if title == "NOTES" || title == "FAILED CHECKS" {
			return // nothing to say
		}
		fmt.Fprintf(w, "\n%s: none\n", title)
		return
	}
	fmt.Fprintf(w, "\n%s (%d)\n", title, n)
}

// tab is an aligned table: columns two spaces apart.
type tab struct{ tw *tabwriter.Writer }

// table starts a table with a header row (none when no names).
func table(w io.Writer, header ...string) tab {
	t := tab{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	if len(header) > 0 {
		t.row(toAny(header)...)
	}
	return t
}

// row writes one row; empty strings show as "-", tabs and newlines in a
// cell as spaces.
func (t tab) row(cells ...any) {
	s := make([]string, len(cells))
	for i, c := range cells {
		s[i] = orDash(oneLine(fmt.Sprint(c)))
	}
	fmt.Fprintln(t.tw, strings.TrimRight(strings.Join(s, "\t"), " "))
}

// flush ends the table. Its error is the underlying writer's, which
// errWriter keeps.
func (t tab) flush() { _ = t.tw.Flush() }

func toAny(s []string) []any {
	a := make([]any, len(s))
	for i, v := range s {
		a[i] = v
	}
	return a
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}

// oneLine keeps a cell or a list item on its line.
func oneLine(s string) string {
	return strings.NewReplacer("\t", " ", "\r\n", " ", "\n", " ", "\r", " ").Replace(s)
}

func addr(a netip.Addr) string {
	if !a.IsValid() {
		return "-"
	}
	return a.String()
}

func target(ap netip.AddrPort) string {
	if !ap.IsValid() {
		return "-"
	}
	return ap.String()
}

// duration rounds for reading: 1.23s, 41.2s, 2m3.4s.
func duration(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(10 * time.Millisecond).String()
	}
	return d.Round(100 * time.Millisecond).String()
}

// count is "1 node", "2 nodes".
func count(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
