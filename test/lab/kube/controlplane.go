package kube

import (
	"path/filepath"
	"strconv"

	"github.com/vpc-cni/vpc-cni/internal/k8spki"
)

// etcd's ports on the fabric's loopback.
const (
	etcdClientPort = 2379
	etcdPeerPort   = 2380
)

// EtcdURL is where kube-apiserver finds etcd.
func EtcdURL() string { return "http://127.0.0.1:" + strconv.Itoa(etcdClientPort) }

// EtcdArgs runs etcd for the lab's cluster, its data in dir.
func EtcdArgs(dir string) []string {
	client, peer := EtcdURL(), "http://127.0.0.1:"+strconv.Itoa(etcdPeerPort)
	return []string{
		"--name=lab", "--data-dir=" + filepath.Join(dir, "etcd"),
		"--listen-client-urls=" + client, "--advertise-client-urls=" + client,
		"--listen-peer-urls=" + peer, "--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=lab=" + peer, "--initial-cluster-state=new",
		"--logger=zap", "--log-outputs=stderr",
	}
}

// APIServerArgs runs kube-apiserver on APIServerAddr with client
// certificates, RBAC and the Node authorizer, service-account tokens, and
// kubelets reached at their InternalIP (the node names do not resolve)
// with the admin client certificate.
func APIServerArgs(dir string, p *k8spki.PKI) []string {
	return []string{
		"--etcd-servers=" + EtcdURL(),
		"--bind-address=" + APIServerAddr.String(),
		"--advertise-address=" + APIServerAddr.String(),
		"--secure-port=" + strconv.Itoa(APIServerPort),
		"--cert-dir=" + filepath.Join(dir, "apiserver-certs"),
		"--tls-cert-file=" + p.ServeCert, "--tls-private-key-file=" + p.ServeKey,
		"--client-ca-file=" + p.CACert,
		"--authorization-mode=Node,RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + p.SAVerifyPE,
		"--service-account-signing-key-file=" + p.SASignKey,
		"--service-cluster-ip-range=" + ServiceCIDR,
		"--kubelet-preferred-address-types=InternalIP",
		"--kubelet-client-certificate=" + p.AdminCert, "--kubelet-client-key=" + p.AdminKey,
		"--allow-privileged=true",
		"--profiling=false",
	}
}

// SchedulerArgs runs kube-scheduler as the admin, serving only on loopback.
func SchedulerArgs(kubeconfig string) []string {
	return []string{
		"--kubeconfig=" + kubeconfig,
		"--authentication-kubeconfig=" + kubeconfig, "--authorization-kubeconfig=" + kubeconfig,
		"--bind-address=127.0.0.1", "--leader-elect=false",
	}
}

// ControllerManagerArgs runs kube-controller-manager as the admin: the
// deployment, replica set, namespace, service-account, garbage-collector
// and node-lifecycle controllers a Deployment of pods needs, and the
// root-CA publisher (kube-root-ca.crt, which every pod's service-account
// volume reads); nothing of a cloud provider.
func ControllerManagerArgs(kubeconfig string, p *k8spki.PKI) []string {
	return []string{
		"--kubeconfig=" + kubeconfig,
		"--authentication-kubeconfig=" + kubeconfig, "--authorization-kubeconfig=" + kubeconfig,
		"--bind-address=127.0.0.1", "--leader-elect=false",
		"--service-account-private-key-file=" + p.SASignKey,
		"--root-ca-file=" + p.CACert,
		"--use-service-account-credentials=false",
		"--controllers=*,-cloud-node-lifecycle,-service-lb-controller,-route",
	}
}
