// Package ipamv1 is the generated Go of ipam.proto: the messages and the
// IPAM service that the vpc-cni plugin calls on ipamd's unix socket. Only
// this file is written by hand; regenerate the rest with `make proto`.
package ipamv1
