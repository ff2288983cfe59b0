package logfile

import (
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// The logger never writes to stdout: fd 1 and os.Stdout both point into a
// pipe while logs are opened, written, rotated and closed, in every mode.
func TestNeverWritesStdout(t *testing.T) {
	dir := t.TempDir()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// drain the pipe as it fills, so that a stray write cannot block
	got := make(chan []byte, 1)
	go func() {
		out, _ := io.ReadAll(r)
		got <- out
	}()
	saved, err := syscall.Dup(1)
	if err != nil {
		t.Fatal(err)
	}
	oldStdout := os.Stdout
	if err := syscall.Dup3(int(w.Fd()), 1, 0); err != nil {
		t.Fatal(err)
	}
	os.Stdout = w
	// nothing in here may t.Log or fail: that output would go to the pipe
	func() {
		for _, path := range []string{filepath.Join(dir, "plugin.log"), "", filepath.Join(dir, "x\x00y")} {
			log, c, _ := Open(path, "debug", 1)
			for i := range 1200 {
				log.Debug("line", "i", i, "pad", string(make([]byte, 1000)))
			}
			c.Close()
		}
	}()
	os.Stdout = oldStdout
	restoreErr := syscall.Dup3(saved, 1, 0)
	syscall.Close(saved)
	w.Close()
	if restoreErr != nil {
		t.Fatalf("restoring stdout: %v", restoreErr)
	}
	if out := <-got; len(out) != 0 {
		t.Fatalf("%d bytes written to stdout: %.200q", len(out), out)
	}
}
