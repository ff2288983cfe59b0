package hostnet

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/google/nftables"
)

// SetupSNAT installs s, replacing whatever an earlier call installed, or,
// when s.External, removes it all (see nft_linux.go for the design).
func (h *Linux) SetupSNAT(ctx context.Context, s SNAT) error {
	if err := ValidateSNAT(s); err != nil {
		return err
	}
	unlock, err := h.begin(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	if s.External {
		return h.removeSNAT()
	}
	link, err := h.linkByMAC(s.PrimaryMAC)
	if err != nil {
		return fmt.Errorf("primary eni: %w", err)
	}
	name := link.Attrs().Name
	rs, err := buildRuleset(s, name, h.mark)
	if err != nil {
		return err
	}
	if err := h.flushNFT(func(c *nftables.Conn) error { return replaceBatch(c, rs) }); err != nil {
		return fmt.Errorf("replace nftables table ip %s: %w", nftTable, err)
	}
	if err := reconcileRules(h.nl, offVPCRule(h.mark), ownsOffVPCRule); err != nil {
		return fmt.Errorf("off-vpc fwmark rule: %w", err)
	}
	if err := h.loosenRPFilter(name); err != nil {
		return fmt.Errorf("primary eni link %s: %w", name, err)
	}
	return nil
}

// removeSNAT deletes our nftables table and the fwmark rule.
func (h *Linux) removeSNAT() error {
	if err := h.flushNFT(func(c *nftables.Conn) error { removeBatch(c); return nil }); err != nil {
		return fmt.Errorf("delete nftables table ip %s: %w", nftTable, err)
	}
	if err := removeRules(h.nl, PriorityOffVPC, ownsOffVPCRule); err != nil {
		return fmt.Errorf("off-vpc fwmark rule: %w", err)
	}
	return nil
}

// flushNFT queues a batch on a fresh connection and sends it.
func (h *Linux) flushNFT(queue func(*nftables.Conn) error) error {
	c, err := nftables.New(h.nftOpts...)
	if err != nil {
		return err
	}
	if err := queue(c); err != nil {
		return err
	}
	return c.Flush()
}

// Reverse-path filter modes (net.ipv4.conf.*.rp_filter).
const (
	rpFilterStrict = 1
	rpFilterLoose  = 2
)

// loosenRPFilter sets the primary link's reverse-path filter to loose when
// it is strict (the kernel applies the larger of "all" and the link's
// value). A NodePort connection enters by the primary ENI but its pod's
// address routes by the pod's ENI, so a strict check drops it; the AWS VPC
// CNI loosens the check on the primary ENI for the same reason. A loose or
// disabled filter is left as it is.
func (h *Linux) loosenRPFilter(link string) error {
	set := func() error {
		all, err := readSysctlInt(h.sysctlPath("all"))
		if err != nil {
			return err
		}
		own, err := readSysctlInt(h.sysctlPath(link))
		if err != nil {
			return err
		}
		if max(all, own) != rpFilterStrict {
			return nil
		}
		p := h.sysctlPath(link)
		if err := os.WriteFile(p, []byte(strconv.Itoa(rpFilterLoose)), 0o644); err != nil {
			return fmt.Errorf("set %s to %d: %w", p, rpFilterLoose, err)
		}
		return nil
	}
	if h.netns == nil {
		return set()
	}
	return h.netns.Do(func(ns.NetNS) error { return set() })
}

// sysctlPath is the rp_filter sysctl of a link (or "all").
func (h *Linux) sysctlPath(link string) string {
	return filepath.Join(h.procSys, "net", "ipv4", "conf", link, "rp_filter")
}

func readSysctlInt(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	return v, nil
}
