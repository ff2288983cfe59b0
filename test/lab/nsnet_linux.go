package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/vpc-cni/vpc-cni/test/lab/netenv"
)

// pollEvery is how often the lab's waits look again.
const pollEvery = 50 * time.Millisecond

// nsHTTPClient is an HTTP client whose connections are made inside the
// namespace at nsPath (a socket stays in the namespace it was made in).
func nsHTTPClient(nsPath string) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: netenv.DialIn(nsPath), DisableKeepAlives: true}}
}

// getJSON GETs url from inside the namespace and decodes the JSON answer
// into v (nil: only the status matters).
func getJSON(ctx context.Context, nsPath, url string, v any) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := nsHTTPClient(nsPath).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, clip(body))
	}
	if v == nil {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: decode: %w", url, err)
	}
	return nil
}

func clip(b []byte) string {
	const n = 200
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

// waitFor calls cond every pollEvery until it returns true, or an error
// wrapping errExited (what it waits for will never come), or until d
// passes (then the error says what was awaited, with cond's last error
// when it had one).
func waitFor(ctx context.Context, d time.Duration, what string, cond func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var last error
	for {
		ok, err := cond()
		switch {
		case ok:
			return nil
		case errors.Is(err, errExited):
			return fmt.Errorf("%s: %w", what, err)
		case err != nil:
			last = err
		}
		select {
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("%s: not within %v: %w", what, d, last)
			}
			return fmt.Errorf("%s: not within %v", what, d)
		case <-time.After(pollEvery):
		}
	}
}

// loopbackUp brings up lo in the namespace at nsPath.
func loopbackUp(nsPath string) error {
	h, err := netns.GetFromPath(nsPath)
	if err != nil {
		return err
	}
	defer h.Close()
	nl, err := netlink.NewHandleAt(h)
	if err != nil {
		return err
	}
	defer nl.Close()
	lo, err := nl.LinkByName("lo")
	if err != nil {
		return err
	}
	return nl.LinkSetUp(lo)
}
