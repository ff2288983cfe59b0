package main

import "github.com/vpc-cni/vpc-cni/ipamd/hostnet"

// newHost opens the node's network in ipamd's own network namespace.
func newHost() (*hostnet.Linux, error) { return hostnet.New(hostnet.Options{}) }
