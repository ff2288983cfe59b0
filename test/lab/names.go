package lab

import (
	"fmt"
	"path/filepath"
)

// netnsDir is where `ip netns` keeps its namespaces.
const netnsDir = "/var/run/netns"

func netnsPath(name string) string { return filepath.Join(netnsDir, name) }

// The lab's names (lab-design.md): everything derives from the prefix.
func fabricNS(prefix string) string         { return prefix + "-fabric" }
func inetNS(prefix string) string           { return prefix + "-inet" }
func nodeNS(prefix string, i int) string    { return fmt.Sprintf("%s-node%d", prefix, i) }
func podNS(prefix string, i, j int) string  { return fmt.Sprintf("%s-n%d-p%d", prefix, i, j) }
func nodeName(i int) string                 { return fmt.Sprintf("node%d", i) }
func podName(i, j int) string               { return fmt.Sprintf("pod-%d-%d", i, j) }
func (c Config) nodeDir(i int) string       { return filepath.Join(c.StateDir, nodeName(i)) }
func (c Config) pidFile(name string) string { return filepath.Join(c.StateDir, pidsDir, name+".pid") }
func (c Config) logFile(name string) string { return filepath.Join(c.StateDir, logsDir, name+".log") }
