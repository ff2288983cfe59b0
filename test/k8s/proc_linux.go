package k8s

import "syscall"

// procAttr puts a child in its own process group and kills it should the
// test binary die without running its cleanups (a go test timeout).
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
