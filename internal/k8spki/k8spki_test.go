package k8spki

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"strings"
	"testing"
)

// TestMake: the serving cert is signed by the CA for loopback and the
// addresses given; the admin cert is a system:masters client; the
// kubeconfig carries them.
func TestMake(t *testing.T) {
	dir := t.TempDir()
	p, err := Make(dir, net.IPv4(198, 18, 255, 254))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(p.CAPEM) {
		t.Fatal("the CA PEM does not parse")
	}
	serve, err := tls.LoadX509KeyPair(p.ServeCert, p.ServeKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(serve.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"198.18.255.254", "127.0.0.1", "kubernetes.default.svc"} {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: host}); err != nil {
			t.Errorf("the serving cert for %s: %v", host, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "198.18.0.1"}); err == nil {
		t.Error("the serving cert verifies for an address not given")
	}
	admin, err := tls.X509KeyPair(p.AdminCertPEM, p.AdminKeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := x509.ParseCertificate(admin.Certificate[0])
	if len(a.Subject.Organization) != 1 || a.Subject.Organization[0] != "system:masters" {
		t.Errorf("admin subject %v, want O=system:masters", a.Subject)
	}
	for _, f := range []string{p.SASignKey, p.SAVerifyPE, p.CAKey} {
		if _, err := os.Stat(f); err != nil {
			t.Error(err)
		}
	}
	kc := string(p.Kubeconfig("https://198.18.255.254:6443"))
	if !strings.Contains(kc, "server: https://198.18.255.254:6443") || !strings.Contains(kc, "client-key-data: ") {
		t.Errorf("kubeconfig:\n%s", kc)
	}
}
