package k8s

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestExited(t *testing.T) {
	tests := []struct {
		name, log string
		done      bool
		wantErr   bool
		wantTaken bool
	}{
		{"running", "listening\n", false, false, false},
		{"exited", "fatal: bad flag\n", true, true, false},
		{"port taken", "listen tcp 127.0.0.1:4001: bind: address already in use\n", true, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &process{name: "etcd", log: filepath.Join(t.TempDir(), "etcd.log"), done: make(chan struct{})}
			if err := os.WriteFile(p.log, []byte(tt.log), 0o644); err != nil {
				t.Fatal(err)
			}
			if tt.done {
				p.err = errors.New("exit status 1")
				close(p.done)
			}
			err := p.exited()
			if (err != nil) != tt.wantErr || errors.Is(err, errPortTaken) != tt.wantTaken {
				t.Errorf("exited() = %v, want error %v, port taken %v", err, tt.wantErr, tt.wantTaken)
			}
		})
	}
}
