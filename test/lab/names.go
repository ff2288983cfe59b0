package lab

import (
	"fmt"
	"path/filepath"

	"github.com/vpc-cni/vpc-cni/test/lab/netenv"
)

// The lab's names (lab-design.md): everything derives from the prefix;
// the namespaces are netenv's.
func netnsPath(name string) string          { return netenv.NSPath(name) }
func nodeName(i int) string                 { return fmt.Sprintf("node%d", i) }
func podName(i, j int) string               { return fmt.Sprintf("pod-%d-%d", i, j) }
func (c Config) nodeDir(i int) string       { return filepath.Join(c.StateDir, nodeName(i)) }
func (c Config) pidFile(name string) string { return filepath.Join(c.StateDir, pidsDir, name+".pid") }
func (c Config) logFile(name string) string { return filepath.Join(c.StateDir, logsDir, name+".log") }

// Process names (pids/<name>.pid, logs/<name>.log).
const (
	procEC2Sim   = "ec2sim"
	procFabricd  = "fabricd"
	procInetEcho = "echo-inet"
)

func procIpamd(i int) string      { return "ipamd-" + nodeName(i) }
func procNodeEcho(i int) string   { return "echo-" + nodeName(i) }
func procPodEcho(i, j int) string { return "echo-" + podName(i, j) }
