package sim

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDocumentedWorldFileParses keeps docs/ec2sim.md true: its example world
// file must parse, validate and build a world.
func TestDocumentedWorldFileParses(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "ec2sim.md"))
	if err != nil {
		t.Fatalf("read the docs: %v", err)
	}
	_, rest, ok := strings.Cut(string(doc), "```json\n")
	example, _, closed := strings.Cut(rest, "```")
	if !ok || !closed {
		t.Fatal("docs/ec2sim.md has no ```json example world file")
	}
	cfg, err := ParseConfig([]byte(example))
	if err != nil {
		t.Fatalf("the documented world file does not parse: %v", err)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatalf("the documented world file does not build: %v", err)
	}
	if st := srv.World().Snapshot(); len(st.Instances) != 2 || len(st.Subnets) != 2 {
		t.Fatalf("documented world: want 2 instances in 2 subnets, got %d and %d", len(st.Instances), len(st.Subnets))
	}
}
