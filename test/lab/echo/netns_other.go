//go:build !linux

package echo

import (
	"fmt"
)

// inNetNS runs fn where the caller is; entering another network namespace
// needs Linux.
func inNetNS(path string, fn func() error) error {
	if path == "" {
		return fn()
	}
	return fmt.Errorf("%w: entering netns %s needs linux", ErrInvalid, path)
}
