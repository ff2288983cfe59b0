// Package k8spki makes the certificates and keys a test or lab Kubernetes
// control plane runs on: a CA, kube-apiserver's serving certificate, an
// admin client certificate (system:masters) and the service-account key
// pair, written as PEM files into a directory, and the admin kubeconfig.
package k8spki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// PKI is the set of files the cluster's TLS and service accounts use, all
// made fresh for each cluster: paths, and the PEMs clients need.
type PKI struct {
	CACert, CAKey         string // the CA that signs the serving and client certs
	ServeCert, ServeKey   string // kube-apiserver's serving cert
	AdminCert, AdminKey   string // the admin client (system:masters)
	SASignKey, SAVerifyPE string // service-account token signing key and its public key

	CAPEM, AdminCertPEM, AdminKeyPEM []byte // for the kubeconfig and the rest.Config
}

// certLifetime covers any test run; the certs never outlive the temp dir.
const certLifetime = 24 * time.Hour

// Make writes a CA, a serving cert, an admin client cert and a
// service-account key pair into dir (which must exist). The serving cert
// is valid for localhost, the kubernetes service's names, 127.0.0.1, ::1
// and serveIPs (the addresses clients reach kube-apiserver at).
func Make(dir string, serveIPs ...net.IP) (*PKI, error) {
	p := &PKI{
		CACert: filepath.Join(dir, "ca.crt"), CAKey: filepath.Join(dir, "ca.key"),
		ServeCert: filepath.Join(dir, "apiserver.crt"), ServeKey: filepath.Join(dir, "apiserver.key"),
		AdminCert: filepath.Join(dir, "admin.crt"), AdminKey: filepath.Join(dir, "admin.key"),
		SASignKey: filepath.Join(dir, "sa.key"), SAVerifyPE: filepath.Join(dir, "sa.pub"),
	}
	now := time.Now()
	ca, caKey, err := makeCA(now)
	if err != nil {
		return nil, err
	}
	if p.CAPEM, err = writeCertKey(p.CACert, p.CAKey, ca.Raw, caKey); err != nil {
		return nil, err
	}
	serve := leafTemplate(2, now, pkix.Name{CommonName: "kube-apiserver"}, x509.ExtKeyUsageServerAuth)
	serve.DNSNames = []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"}
	serve.IPAddresses = append([]net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}, serveIPs...)
	if _, err := signLeaf(serve, ca, caKey, p.ServeCert, p.ServeKey); err != nil {
		return nil, err
	}
	admin := leafTemplate(3, now, pkix.Name{CommonName: "admin", Organization: []string{"system:masters"}}, x509.ExtKeyUsageClientAuth)
	if p.AdminCertPEM, err = signLeaf(admin, ca, caKey, p.AdminCert, p.AdminKey); err != nil {
		return nil, err
	}
	if p.AdminKeyPEM, err = os.ReadFile(p.AdminKey); err != nil {
		return nil, fmt.Errorf("admin key: %w", err)
	}
	if err := writeSAKeys(p.SASignKey, p.SAVerifyPE); err != nil {
		return nil, err
	}
	return p, nil
}

// makeCA makes a self-signed CA valid from an hour before now.
func makeCA(now time.Time) (*x509.Certificate, crypto.Signer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("ca key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "vpc-cni-test-ca"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(certLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, fmt.Errorf("ca cert: %w", err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("ca cert: %w", err)
	}
	return ca, key, nil
}

// leafTemplate is a serving or client certificate valid from an hour
// before now.
func leafTemplate(serial int64, now time.Time, subject pkix.Name, usage x509.ExtKeyUsage) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      subject,
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(certLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
}

// signLeaf makes a key for tmpl, signs it with the CA and writes both;
// it returns the certificate's PEM.
func signLeaf(tmpl, ca *x509.Certificate, caKey crypto.Signer, certPath, keyPath string) ([]byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("%s key: %w", tmpl.Subject.CommonName, err)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		return nil, fmt.Errorf("%s cert: %w", tmpl.Subject.CommonName, err)
	}
	return writeCertKey(certPath, keyPath, der, key)
}

// writeCertKey writes a certificate and its private key as PEM files and
// returns the certificate's PEM.
func writeCertKey(certPath, keyPath string, der []byte, key crypto.Signer) ([]byte, error) {
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(certPath, certPEM, 0o644); err != nil {
		return nil, fmt.Errorf("write cert: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("marshal key: %w", err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return nil, fmt.Errorf("write key: %w", err)
	}
	return certPEM, nil
}

// writeSAKeys writes the RSA key pair kube-apiserver signs and verifies
// service-account tokens with.
func writeSAKeys(signPath, verifyPath string) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("service-account key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return fmt.Errorf("service-account key: %w", err)
	}
	priv := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if err := os.WriteFile(signPath, priv, 0o600); err != nil {
		return fmt.Errorf("write service-account key: %w", err)
	}
	if err := os.WriteFile(verifyPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644); err != nil {
		return fmt.Errorf("write service-account key: %w", err)
	}
	return nil
}

// Kubeconfig is a kubeconfig for the admin user at server (an https URL),
// with the certificates inline.
func (p *PKI) Kubeconfig(server string) []byte {
	enc := base64.StdEncoding.EncodeToString
	return fmt.Appendf(nil, `apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: admin
  user:
    client-certificate-data: %s
    client-key-data: %s
contexts:
- name: test
  context:
    cluster: test
    user: admin
current-context: test
`, server, enc(p.CAPEM), enc(p.AdminCertPEM), enc(p.AdminKeyPEM))
}
