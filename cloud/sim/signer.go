package sim

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// signer makes tokens a client can read but not forge: a payload and its
// HMAC under a per-server random key, both base64url, joined by a dot.
// NextTokens and IMDS session tokens are made this way, so they cost
// nothing to keep.
type signer struct {
	key []byte
}

// signerMACLen is how many bytes of the HMAC a token carries.
const signerMACLen = 16

func newSigner() *signer {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return &signer{key: k}
}

func (s *signer) mac(payload []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write(payload)
	return m.Sum(nil)[:signerMACLen]
}

// sign returns the token of a payload.
func (s *signer) sign(payload string) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(payload)) + "." + enc.EncodeToString(s.mac([]byte(payload)))
}

// open checks a token and returns its payload.
func (s *signer) open(token string) (string, bool) {
	body, sig, ok := strings.Cut(token, ".")
	if !ok {
		return "", false
	}
	enc := base64.RawURLEncoding
	payload, err1 := enc.DecodeString(body)
	mac, err2 := enc.DecodeString(sig)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, s.mac(payload)) {
		return "", false
	}
	return string(payload), true
}
