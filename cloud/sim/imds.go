package sim

import (
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// IMDSv2: a session token from PUT /latest/api/token, required on every
// GET. Tokens are stateless: the expiry and the caller's address, signed
// with a per-server key, so they cost nothing to keep and are only good
// from the address that asked for them until they expire.

// IMDS headers.
const (
	imdsTokenHeader = "X-Aws-Ec2-Metadata-Token"
	imdsTTLHeader   = "X-Aws-Ec2-Metadata-Token-Ttl-Seconds"
	imdsMaxTTL      = 21600
)

// imdsServer answers instance metadata for the instance the caller is.
type imdsServer struct {
	world   *World
	account string
	now     func() time.Time
	signer  *signer
}

func newIMDSServer(w *World, account string, now func() time.Time) *imdsServer {
	return &imdsServer{world: w, account: account, now: now, signer: newSigner()}
}

// ServeHTTP routes the token endpoint and the metadata paths.
func (s *imdsServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ip := remoteIP(r)
	if r.URL.Path == "/latest/api/token" {
		if r.Method != http.MethodPut {
			imdsText(w, http.StatusMethodNotAllowed, "")
			return
		}
		s.serveToken(w, r, ip)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		imdsText(w, http.StatusMethodNotAllowed, "")
		return
	}
	if !s.validToken(r.Header.Get(imdsTokenHeader), ip) {
		imdsText(w, http.StatusUnauthorized, "")
		return
	}
	s.serveMetadata(w, r, ip)
}

// serveToken issues a token. A PUT that went through a proxy (it carries
// X-Forwarded-For) is refused, as EC2 refuses it.
func (s *imdsServer) serveToken(w http.ResponseWriter, r *http.Request, ip netip.Addr) {
	if _, proxied := r.Header["X-Forwarded-For"]; proxied {
		imdsText(w, http.StatusForbidden, "")
		return
	}
	ttl, err := strconv.Atoi(r.Header.Get(imdsTTLHeader))
	if err != nil || ttl < 1 || ttl > imdsMaxTTL {
		imdsText(w, http.StatusBadRequest, "")
		return
	}
	expiry := s.now().Add(time.Duration(ttl) * time.Second).Unix()
	w.Header().Set(imdsTTLHeader, strconv.Itoa(ttl))
	imdsText(w, http.StatusOK, s.sign(expiry, ip))
}

// sign makes a token: the expiry and the caller's address, signed.
func (s *imdsServer) sign(expiry int64, ip netip.Addr) string {
	return s.signer.sign(strconv.FormatInt(expiry, 10) + "|" + ip.String())
}

// validToken checks a token's signature, expiry and address.
func (s *imdsServer) validToken(tok string, ip netip.Addr) bool {
	payload, ok := s.signer.open(tok)
	if !ok {
		return false
	}
	exp, addr, ok := strings.Cut(payload, "|")
	if !ok || addr != ip.String() {
		return false
	}
	expiry, err := strconv.ParseInt(exp, 10, 64)
	return err == nil && s.now().Unix() < expiry
}

// remoteIP is the caller's address (the zero Addr when unknown).
func remoteIP(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// instanceFor picks the instance a caller is: the one whose primary
// address the caller has, else the default one.
func (s *imdsServer) instanceFor(ip netip.Addr) (Instance, bool) {
	if ip.IsValid() {
		if in, ok := s.world.InstanceByIP(ip); ok {
			return in, true
		}
	}
	return s.world.DefaultInstance()
}

// imdsText writes a plain-text IMDS answer.
func imdsText(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Server", "EC2ws")
	w.WriteHeader(status)
	if body != "" {
		_, _ = w.Write([]byte(body))
	}
}
