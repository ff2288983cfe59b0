package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const docPath = "../../docs/ipamd-config.md"

// docTable returns the rows of the first table after the heading, each as
// its trimmed cells with backticks removed and "(empty)" read as "".
func docTable(t *testing.T, doc, heading string) [][]string {
	t.Helper()
	_, after, ok := strings.Cut(doc, "\n"+heading+"\n")
	if !ok {
		t.Fatalf("%s: no heading %q", docPath, heading)
	}
	var rows [][]string
	inTable := false
	for line := range strings.SplitSeq(after, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			if inTable {
				break
			}
			continue
		}
		inTable = true
		cells := strings.Split(strings.Trim(line, "|"), " | ")
		for i, c := range cells {
			c = strings.TrimSpace(c)
			if strings.HasPrefix(c, "`") && strings.HasSuffix(c, "`") && len(c) >= 2 {
				c = c[1 : len(c)-1]
			}
			if c == "(empty)" {
				c = ""
			}
			cells[i] = c
		}
		rows = append(rows, cells)
	}
	if len(rows) < 2 {
		t.Fatalf("%s: no table under %q", docPath, heading)
	}
	return rows[2:] // header and separator
}

func readDoc(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.FromSlash(docPath))
	if err != nil {
		t.Fatalf("the configuration doc: %v", err)
	}
	return string(b)
}

// TestDocTable: the doc's table lists exactly Variables(), in order, with
// the same defaults and meanings. Together with TestReadsExactlyTheVariables
// this proves every variable FromEnv reads is documented and every
// documented variable is read.
func TestDocTable(t *testing.T) {
	got := docTable(t, readDoc(t), "## Variables")
	var want [][]string
	for _, v := range Variables() {
		want = append(want, []string{v.Name, v.Default, v.Meaning})
	}
	if !reflect.DeepEqual(got, want) {
		for i := range max(len(got), len(want)) {
			var g, w []string
			if i < len(got) {
				g = got[i]
			}
			if i < len(want) {
				w = want[i]
			}
			if !reflect.DeepEqual(g, w) {
				t.Errorf("row %d:\n doc  %q\n code %q", i+1, g, w)
			}
		}
	}
}

func TestDocUnsupportedTable(t *testing.T) {
	var want [][]string
	for _, u := range UnsupportedVariables() {
		effect := "warning"
		if u.Error {
			effect = "error"
		}
		want = append(want, []string{u.Name, u.Refused, effect, u.Why})
	}
	got := docTable(t, readDoc(t), "## AWS VPC CNI variables vpc-cni does not support")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("doc:\n%q\ncode:\n%q", got, want)
	}
}
