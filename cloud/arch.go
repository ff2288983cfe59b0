package cloud

import "strings"

// Processor architectures as EC2 names them (DescribeInstances'
// architecture, DescribeInstanceTypes' supported architectures, the
// instance identity document).
const (
	ArchX86_64 = "x86_64"
	ArchARM64  = "arm64"
)

// Architecture returns the processor architecture of an instance type,
// derived from its name: arm64 for AWS Graviton types, x86_64 for every
// other type (and for names it cannot read).
//
// A type name is family.size, and a family is a class (letters), a
// generation (digits) and attributes (letters, up to any "-"). Graviton
// families carry a "g" among their attributes (t4g, m6gd, c7gn, x2gd,
// im4gn, g5g); a1 is the first-generation Graviton.
func Architecture(typeName string) string {
	family, _, _ := strings.Cut(typeName, ".")
	family, _, _ = strings.Cut(family, "-")
	i := strings.IndexFunc(family, isDigit)
	if i <= 0 {
		return ArchX86_64
	}
	class, rest := family[:i], family[i:]
	attrs := strings.TrimLeftFunc(rest, isDigit)
	if strings.ContainsRune(attrs, 'g') || (class == "a" && rest == "1") {
		return ArchARM64
	}
	return ArchX86_64
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }
