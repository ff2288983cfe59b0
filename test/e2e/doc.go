// Package e2e holds the end-to-end tests of vpc-cni over the lab
// (test/lab): whole VPCs on one machine, with ec2sim as the cloud, an
// ipamd per node and pods wired by bin/vpc-cni through libcni, checked
// against the Kubernetes network model, SNAT, capacity, prefix delegation,
// an ipamd killed under running pods, and the lab's own teardown.
//
// The tests need root and network namespaces; they are named
// TestPrivileged… and skip without root. TestMain builds the binaries once
// (ec2sim, ipamd, lab, labecho and the plugin) into a temporary directory.
// Each test brings up its own lab with its own prefix (e2e1, e2e2, …) and
// tears it down when it ends, whether it passed or not. Tests run one at a
// time: a lab is several processes and many namespaces.
package e2e
