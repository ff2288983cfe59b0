package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/vpc-cni/vpc-cni/test/lab/kube"
	"github.com/vpc-cni/vpc-cni/test/lab/netenv"
)

// killRounds bounds Down's passes over the lab's processes: a process may
// start another while the first pass stops it.
const killRounds = 5

// Down stops every process of the lab with this prefix (by its pid files,
// and every process in a P-* namespace: SIGTERM, then SIGKILL after a few
// seconds), deletes every P-* namespace (netenv.DeleteAll) and removes
// stateDir (empty: /run/<prefix>). Idempotent; works when the state
// directory is gone, as after a crash. Touches nothing not named P-*.
func Down(ctx context.Context, prefix, stateDir string) error {
	if !prefixRE.MatchString(prefix) {
		return fmt.Errorf("lab down: %w: prefix %q", ErrConfig, prefix)
	}
	if stateDir == "" {
		stateDir = DefaultStateDir(prefix)
	}
	var errs []error
	for round := 0; ; round++ {
		pids := append(pidFilePids(stateDir), pidsInNetNS(labNetNS(prefix))...)
		pids = append(pids, pidsNaming(stateDir)...)
		if len(pids) == 0 {
			break
		}
		if round == killRounds {
			errs = append(errs, fmt.Errorf("lab down: processes %v still run", pids))
			break
		}
		errs = append(errs, stopAll(ctx, pids)...)
	}
	removeContainerCgroups(stateDir)
	kube.RemoveCreatedDirs(stateDir)
	if err := netenv.DeleteAll(prefix); err != nil {
		errs = append(errs, fmt.Errorf("lab down: %w", err))
	}
	if err := os.RemoveAll(stateDir); err != nil {
		errs = append(errs, fmt.Errorf("lab down: %w", err))
	}
	return errors.Join(errs...)
}

// stopAll stops the processes at once, each with its grace period.
func stopAll(ctx context.Context, pids []int) []error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	seen := map[int]bool{}
	for _, pid := range pids {
		if seen[pid] {
			continue
		}
		seen[pid] = true
		wg.Go(func() {
			if err := stop(ctx, pid, false); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errs
}
