package cloud

import (
	"strings"
	"testing"
)

func TestArchitecture(t *testing.T) {
	tests := []struct {
		typ  string
		want string
	}{
		{"m5.large", ArchX86_64},
		{"t3a.small", ArchX86_64},
		{"c6in.32xlarge", ArchX86_64},
		{"g4dn.xlarge", ArchX86_64}, // "g" is the GPU class here, not Graviton
		{"m7i-flex.large", ArchX86_64},
		{"u-6tb1.metal", ArchX86_64},
		{"t4g.micro", ArchARM64},
		{"m6g.medium", ArchARM64},
		{"m6gd.large", ArchARM64},
		{"c6gn.large", ArchARM64},
		{"c7g.metal", ArchARM64},
		{"g5g.xlarge", ArchARM64},
		{"x2gd.large", ArchARM64},
		{"im4gn.large", ArchARM64},
		{"is4gen.large", ArchARM64},
		{"hpc7g.4xlarge", ArchARM64},
		{"a1.large", ArchARM64}, // the first Graviton
		{"", ArchX86_64},
		{"nonsense", ArchX86_64},
	}
	for _, tt := range tests {
		if got := Architecture(tt.typ); got != tt.want {
			t.Errorf("Architecture(%q) = %q, want %q", tt.typ, got, tt.want)
		}
	}
}

// TestBuiltinGravitonTypes checks every Graviton family of the built-in
// table is arm64 and every other type x86_64.
func TestBuiltinGravitonTypes(t *testing.T) {
	graviton := map[string]bool{"t4g": true, "m6g": true, "c6g": true, "m7g": true, "c7g": true}
	for _, name := range BuiltinInstanceTypeNames() {
		family, _, _ := strings.Cut(name, ".")
		want := ArchX86_64
		if graviton[family] {
			want = ArchARM64
		}
		if got := Architecture(name); got != want {
			t.Errorf("Architecture(%q) = %q, want %q", name, got, want)
		}
	}
}
