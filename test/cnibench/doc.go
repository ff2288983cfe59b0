// Package cnibench measures the vpc-cni plugin against the reference
// plugins ptp + host-local (Debian's containernetworking-plugins), side by
// side in one process: ADD and DEL latency through libcni for pods on one
// host with a warm pool, and pods per second of ADD+DEL churn. The real
// ipamd runs in-process against ec2sim; the "host" is a network namespace
// the benchmark creates. Everything lives in _test files: `make bench`
// prints the figures, `make test` runs a short privileged check of the
// harness itself. Nothing imports this package.
package cnibench
