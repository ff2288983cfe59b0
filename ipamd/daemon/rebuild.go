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

// rebuild completes a datastore rebuilt from the cloud after a corrupt
// checkpoint: it restores the allocations and cooldowns that can be
// salvaged from the file set aside and quarantines the node's addresses,
// unless the whole file could be read and the reconciliation found
// every block its allocations need. Nothing is salvaged from another
// instance's checkpoint, and everything is quarantined.
//
// The quarantine is a rule the datastore keeps (in the checkpoint): it
// cools the free addresses the store has now, and those that ENIs and
// blocks the reconciliation could not add yet bring later (syncErr: EC2
// was unreachable, or an ENI could not be adopted), until its end. It
// covers the addresses metadata shows on the instance's ENIs, so that
// the addresses the pool grows meanwhile serve pods at once; when
// metadata cannot be read it covers every address.
func (d *daemon) rebuild(ctx context.Context, syncErr error) error {
	if !d.foreign {
		complete, err := d.salvage()
		if err != nil || (complete && syncErr == nil) {
			return err
		}
	}
	within := d.quarantineScope(ctx)
	until := d.now().Add(d.tune.Quarantine)
	n, err := d.store.Quarantine(datastore.QuarantineRule{Until: until, Within: within})
	if err != nil {
		return fmt.Errorf("rebuild the datastore: %w", err)
	}
	why := "the checkpoint could not be read whole"
	switch {
	case d.foreign:
		why = "the checkpoint was another instance's: this node's own is lost"
	case syncErr != nil:
		why = "the reconciliation with the cloud failed: what was salvaged could not all be restored"
	}
	d.log.Error("the node's free addresses are quarantined, since pods still running may hold some, also those "+
		"of ENIs and blocks found later; they return to the pool when the quarantine ends (drain the node to "+
		"reclaim them sooner)", logKeyReason, why, logKeyQuarantined, n, logKeyUntil, until,
		logKeyScope, scopeWords(within))
	return nil
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

// salvage restores what can be read of the corrupt checkpoint set aside;
// complete says whether it was read whole.
func (d *daemon) salvage() (complete bool, err error) {
	data, err := os.ReadFile(d.loaded.CorruptPath)
	if err != nil {
		d.log.Error("could not read the corrupt checkpoint back; nothing salvaged", logKeyPath, d.loaded.CorruptPath,
			logKeyError, err.Error())
	}
	sal := datastore.Salvage(data)
	rep, err := d.store.Restore(sal.Allocations, sal.Cooling)
	if err != nil {
		return false, fmt.Errorf("rebuild the datastore: %w", err)
	}
	for _, s := range rep.Skipped {
		d.log.Warn("a salvaged allocation or cooldown does not fit the cloud's state; left out", logKeyError, s.Error())
	}
	d.log.Warn("salvaged from the corrupt checkpoint", logKeyAllocations, rep.Allocations, logKeyCooling, rep.Cooling,
		logKeySkipped, len(rep.Skipped))
	return sal.Complete, nil
}
