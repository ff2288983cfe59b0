package sim

import (
	"strings"
	"testing"
)

func TestSignerRoundTripAndTampering(t *testing.T) {
	s, other := newSigner(), newSigner()
	for _, payload := range []string{"", "DescribeSubnets\nsubnet-1", "1700000000|198.18.0.10", "a.b.c"} {
		tok := s.sign(payload)
		if got, ok := s.open(tok); !ok || got != payload {
			t.Fatalf("open(sign(%q)) = %q, %v", payload, got, ok)
		}
		if _, ok := other.open(tok); ok {
			t.Fatalf("another key opened the token of %q", payload)
		}
	}
	tok := s.sign("payload")
	body, sig, _ := strings.Cut(tok, ".")
	for _, bad := range []string{"", ".", "garbage", tok + "x", body, body + ".", "." + sig,
		s.sign("other")[:len(body)] + "." + sig, body + "." + sig[:len(sig)-2], "!!." + sig} {
		if got, ok := s.open(bad); ok {
			t.Fatalf("open(%q) = %q, accepted", bad, got)
		}
	}
}
