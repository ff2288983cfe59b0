package daemon

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"slices"

	"github.com/vpc-cni/vpc-cni/cloud"
	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
)

// quarantine starts the rebuild of the datastore after a corrupt
// checkpoint, or another instance's: before anything else is written it
// sets a quarantine rule, in the write that replaces the damaged file
// (Load kept a copy). Running pods whose allocation was lost may hold any
// address the node has, so the rule cools each one that enters the store
// until its end: those the reconciliation adopts now, and those of ENIs and
// blocks it can only add later (EC2 unreachable, an ENI not adopted). It
// covers the addresses metadata shows on the instance's ENIs, so that the
// addresses the pool grows meanwhile serve pods at once; when metadata
// cannot be read, every address. A crash before the write finds the
// damaged file again and starts over; after it, the next start restores
// the rule. A failed write stops ipamd.
func (d *daemon) quarantine(ctx context.Context) error {
	within := d.quarantineScope(ctx)
	until := d.now().Add(d.tune.Quarantine)
	if _, err := d.store.Quarantine(datastore.QuarantineRule{Until: until, Within: within}); err != nil {
		return fmt.Errorf("rebuild the datastore: %w (check that %s is writable by ipamd)", err, d.cfg.StateDir)
	}
	why := "the checkpoint is corrupt: pods whose allocation cannot be salvaged may hold some"
	if d.foreign {
		why = "the checkpoint was another instance's: this node's own is lost"
	}
	d.log.Error("the node's addresses are quarantined, since pods still running may hold some; they return to the "+
		"pool when the quarantine ends (drain the node to reclaim them sooner), and the pool grows other "+
		"addresses meanwhile", logKeyReason, why, logKeyUntil, until, logKeyScope, scopeWords(within))
	return nil
}

// rebuild completes the rebuild, once the reconciliation has added what
// the cloud shows: it restores the allocations and cooldowns that can be
// salvaged from the corrupt checkpoint (nothing from another instance's,
// whose pods run elsewhere). A salvaged allocation takes its address back
// from the quarantine; the other addresses stay quarantined.
func (d *daemon) rebuild() error {
	if d.foreign {
		return nil
	}
	return d.salvage()
}

// quarantineScope is what the rebuild's quarantine covers: the blocks the
// datastore has and every address and prefix metadata shows on the
// instance's ENIs (every address a pod may hold: ipamd hands none out
// before metadata shows it). Nil, every address, when metadata cannot be
// read.
func (d *daemon) quarantineScope(ctx context.Context) []netip.Prefix {
	var shown []cloud.ENIMetadata
	err := d.retry(ctx, "list the instance's ENIs in metadata", func(ctx context.Context) error {
		var err error
		shown, err = d.deps.Metadata.ENIs(ctx)
		return err
	})
	if err != nil {
		d.log.Error("could not list the instance's ENIs in metadata: the quarantine covers every address, also "+
			"those the pool grows meanwhile", logKeyError, err.Error())
		return nil
	}
	var within []netip.Prefix
	for _, e := range d.store.ENIs() {
		within = append(within, e.Blocks...)
	}
	for _, md := range shown {
		for _, ip := range md.IPv4s {
			within = append(within, netip.PrefixFrom(ip, 32))
		}
		within = append(within, md.Prefixes...)
	}
	slices.SortFunc(within, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	within = slices.Compact(within)
	if len(within) == 0 {
		// Nothing shown at all: metadata is wrong; cover everything.
		return nil
	}
	return within
}

// scopeWords says what a quarantine covers, for the log.
func scopeWords(within []netip.Prefix) string {
	if len(within) == 0 {
		return "every address"
	}
	return fmt.Sprintf("%d blocks of the instance's ENIs", len(within))
}

// salvage restores what can be read of the corrupt checkpoint.
func (d *daemon) salvage() error {
	data, err := os.ReadFile(d.loaded.CorruptPath)
	if err != nil {
		d.log.Error("could not read the corrupt checkpoint back; nothing salvaged", logKeyPath, d.loaded.CorruptPath,
			logKeyError, err.Error())
	}
	sal := datastore.Salvage(data)
	rep, err := d.store.Restore(sal.Allocations, sal.Cooling)
	if err != nil {
		return fmt.Errorf("rebuild the datastore: %w", err)
	}
	for _, s := range rep.Skipped {
		d.log.Warn("a salvaged allocation or cooldown does not fit the cloud's state; left out", logKeyError, s.Error())
	}
	d.log.Warn("salvaged from the corrupt checkpoint", logKeyAllocations, rep.Allocations, logKeyCooling, rep.Cooling,
		logKeySkipped, len(rep.Skipped), logKeyWhole, sal.Complete)
	return nil
}
