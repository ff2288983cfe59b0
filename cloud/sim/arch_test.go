package sim

import (
	"encoding/json"
	"net/http"
	"testing"
)

// TestArchitectureReported checks DescribeInstances, DescribeInstanceTypes
// and the instance identity document report arm64 for a Graviton type and
// x86_64 for the others.
func TestArchitectureReported(t *testing.T) {
	tests := []struct{ typ, want string }{
		{"m5.large", "x86_64"},
		{"t4g.medium", "arm64"},
		{"m6g.large", "arm64"},
		{"c7g.metal", "arm64"},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			clock := newWireClock()
			cfg := wireConfig(clock)
			cfg.Instances[0].Type = tt.typ
			s := wireServer(t, cfg)
			h := s.EC2Handler()

			var inst struct {
				Arch string `xml:"reservationSet>item>instancesSet>item>architecture"`
			}
			wireOK(t, h, &inst, "DescribeInstances")
			var types struct {
				Archs []string `xml:"instanceTypeSet>item>processorInfo>supportedArchitectures>item"`
			}
			wireOK(t, h, &types, "DescribeInstanceTypes", "InstanceType.1", tt.typ)
			if inst.Arch != tt.want || len(types.Archs) != 1 || types.Archs[0] != tt.want {
				t.Fatalf("DescribeInstances architecture %q, DescribeInstanceTypes %v; want %s", inst.Arch, types.Archs, tt.want)
			}

			w := &wireIMDS{t: t, h: s.IMDSHandler(), s: s, clock: clock}
			code, body := w.get("/latest/dynamic/instance-identity/document", "198.18.0.10", w.token("198.18.0.10", "60"))
			var doc struct {
				Architecture string `json:"architecture"`
			}
			if code != http.StatusOK || json.Unmarshal([]byte(body), &doc) != nil || doc.Architecture != tt.want {
				t.Fatalf("identity document: %d %s; want architecture %s", code, body, tt.want)
			}
		})
	}
}
