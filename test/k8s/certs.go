package k8s

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// pki is the set of files the cluster's TLS and service accounts use, all
// made fresh for each cluster.
type pki struct {
	caCert, caKey         string // the CA that signs the serving and client certs
	serveCert, serveKey   string // kube-apiserver's serving cert (127.0.0.1, localhost)
	adminCert, adminKey   string // the admin client (system:masters)
	saSignKey, saVerifyPE string // service-account token signing key and its public key

	caPEM, adminCertPEM, adminKeyPEM []byte // for the kubeconfig and the rest.Config
}

// certLifetime covers any test run; the certs never outlive the temp dir.
const certLifetime = 24 * time.Hour

// makePKI writes a CA, a serving cert, an admin client cert and a
// service-account key pair into dir.
func makePKI(dir string) (*pki, error) {
	p := &pki{
		caCert: filepath.Join(dir, "ca.crt"), caKey: filepath.Join(dir, "ca.key"),
		serveCert: filepath.Join(dir, "apiserver.crt"), serveKey: filepath.Join(dir, "apiserver.key"),
		adminCert: filepath.Join(dir, "admin.crt"), adminKey: filepath.Join(dir, "admin.key"),
		saSignKey: filepath.Join(dir, "sa.key"), saVerifyPE: filepath.Join(dir, "sa.pub"),
	}
	now := time.Now()
	ca, caKey, err := makeCA(now)
	if err != nil {
		return nil, err
	}
	if p.caPEM, err = writeCertKey(p.caCert, p.caKey, ca.Raw, caKey); err != nil {
		return nil, err
	}
	serve := leafTemplate(2, now, pkix.Name{CommonName: "kube-apiserver"}, x509.ExtKeyUsageServerAuth)
	serve.DNSNames = []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"}
	serve.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	if _, err := signLeaf(serve, ca, caKey, p.serveCert, p.serveKey); err != nil {
		return nil, err
	}
	admin := leafTemplate(3, now, pkix.Name{CommonName: "admin", Organization: []string{"system:masters"}}, x509.ExtKeyUsageClientAuth)
	if p.adminCertPEM, err = signLeaf(admin, ca, caKey, p.adminCert, p.adminKey); err != nil {
		return nil, err
	}
	if p.adminKeyPEM, err = os.ReadFile(p.adminKey); err != nil {
		return nil, fmt.Errorf("admin key: %w", err)
	}
	if err := writeSAKeys(p.saSignKey, p.saVerifyPE); err != nil {
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
