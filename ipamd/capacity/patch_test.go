package capacity

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/vpc-cni/vpc-cni/ipamd/manager"
)

var t0 = time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)

// testNode is a node as kubelet leaves it: Ready, NetworkUnavailable
// True (as a cloud provider sets it), pods capacity.
func testNode() *corev1.Node {
	old := metav1.NewTime(t0.Add(-time.Hour))
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "node-1", UID: types.UID("uid-1")},
		Status: corev1.NodeStatus{
			Capacity:    corev1.ResourceList{corev1.ResourcePods: resource.MustParse("29")},
			Allocatable: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("29")},
			Conditions: []corev1.NodeCondition{
				{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
					LastTransitionTime: old, LastHeartbeatTime: old},
				{Type: corev1.NodeNetworkUnavailable, Status: corev1.ConditionTrue, Reason: "NoRouteCreated",
					LastTransitionTime: old, LastHeartbeatTime: old},
			},
		},
	}
}

// apply patches the node in a fake clientset, as the API server would.
func apply(t *testing.T, node *corev1.Node, patch []byte) *corev1.Node {
	t.Helper()
	c := fake.NewClientset(node)
	got, err := c.CoreV1().Nodes().Patch(context.Background(), node.Name, types.StrategicMergePatchType, patch,
		metav1.PatchOptions{}, "status")
	if err != nil {
		t.Fatalf("patch %s: %v", patch, err)
	}
	return got
}

func TestPatchFor(t *testing.T) {
	s := Desired(27, Pool{Ready: true, Assigned: 2, Available: 7})
	patch, err := PatchFor(testNode(), s, t0)
	if err != nil || patch == nil {
		t.Fatalf("PatchFor = %s, %v", patch, err)
	}
	var decoded statusPatch
	if err := json.Unmarshal(patch, &decoded); err != nil {
		t.Fatalf("patch %s: %v", patch, err)
	}
	if len(decoded.Status.Conditions) != 2 {
		t.Errorf("patch %s: want our two conditions only", patch)
	}
	n := apply(t, testNode(), patch)
	if q := n.Status.Capacity[ResourcePodIPs]; q.Value() != 27 {
		t.Errorf("capacity %s = %s, want 27", ResourcePodIPs, q.String())
	}
	if q := n.Status.Allocatable[ResourcePodIPs]; q.Value() != 27 {
		t.Errorf("allocatable %s = %s, want 27", ResourcePodIPs, q.String())
	}
	if q := n.Status.Capacity[corev1.ResourcePods]; q.Value() != 29 {
		t.Errorf("pods capacity %s, want 29 kept", q.String())
	}
	if c := Condition(n, corev1.NodeReady); c == nil || c.Status != corev1.ConditionTrue {
		t.Errorf("Ready condition %+v, want kept", c)
	}
	c := Condition(n, corev1.NodeNetworkUnavailable)
	if c == nil || c.Status != corev1.ConditionFalse || c.Reason != ReasonUp || !c.LastTransitionTime.Time.Equal(t0) {
		t.Errorf("NetworkUnavailable %+v, want False %s since %v", c, ReasonUp, t0)
	}
	c = Condition(n, ConditionPodIPsAvailable)
	if c == nil || c.Status != corev1.ConditionTrue || c.Reason != ReasonWarmPoolReady || c.Message != s.Message {
		t.Errorf("PodIPsAvailable %+v, want True %s %q", c, ReasonWarmPoolReady, s.Message)
	}
	again, err := PatchFor(n, s, t0.Add(time.Minute))
	if err != nil || again != nil {
		t.Errorf("PatchFor a node that shows the state = %s, %v; want nil", again, err)
	}
}

func TestPatchForTransitionTimes(t *testing.T) {
	n := testNode()
	steps := []struct {
		pool     Pool
		wantFrom time.Duration // transition time, from t0
	}{
		{Pool{Ready: true, Cause: "subnet full", Class: manager.ClassSubnetExhausted}, 0},
		{Pool{Ready: true, Cause: "subnet full", Class: manager.ClassSubnetExhausted, Assigned: 3}, 0}, // message only
		{Pool{Ready: true, Cause: "eni limit", Class: manager.ClassENILimit}, 0},                       // reason only
		{Pool{Ready: true}, 3 * time.Minute},                                                           // status flips
		{Pool{Ready: true, Assigned: 1}, 3 * time.Minute},
	}
	for i, st := range steps {
		now := t0.Add(time.Duration(i) * time.Minute)
		s := Desired(27, st.pool)
		patch, err := PatchFor(n, s, now)
		if err != nil || patch == nil {
			t.Fatalf("step %d: PatchFor = %s, %v", i, patch, err)
		}
		n = apply(t, n, patch)
		c := Condition(n, ConditionPodIPsAvailable)
		if c.Reason != s.Reason || c.Message != s.Message || !c.LastTransitionTime.Time.Equal(t0.Add(st.wantFrom)) {
			t.Errorf("step %d: %+v, want %s %q since %v", i, c, s.Reason, s.Message, t0.Add(st.wantFrom))
		}
		if !c.LastHeartbeatTime.Time.Equal(now) {
			t.Errorf("step %d: heartbeat %v, want %v", i, c.LastHeartbeatTime, now)
		}
		up := Condition(n, corev1.NodeNetworkUnavailable)
		if !up.LastTransitionTime.Time.Equal(t0) {
			t.Errorf("step %d: NetworkUnavailable since %v, want %v", i, up.LastTransitionTime, t0)
		}
	}
}

func TestPatchForLeavesAlone(t *testing.T) {
	// Not up and no capacity: NetworkUnavailable and the resource stay.
	s := Desired(0, Pool{})
	n := apply(t, testNode(), mustPatch(t, testNode(), s))
	if c := Condition(n, corev1.NodeNetworkUnavailable); c.Status != corev1.ConditionTrue {
		t.Errorf("NetworkUnavailable %+v, want left True", c)
	}
	if _, ok := n.Status.Capacity[ResourcePodIPs]; ok {
		t.Errorf("capacity %v: want no %s", n.Status.Capacity, ResourcePodIPs)
	}
	if c := Condition(n, ConditionPodIPsAvailable); c == nil || c.Reason != ReasonNotReady {
		t.Errorf("PodIPsAvailable %+v, want %s", c, ReasonNotReady)
	}
}

func mustPatch(t *testing.T, n *corev1.Node, s State) []byte {
	t.Helper()
	p, err := PatchFor(n, s, t0)
	if err != nil || p == nil {
		t.Fatalf("PatchFor = %s, %v", p, err)
	}
	return p
}

func TestEventFor(t *testing.T) {
	s := Desired(27, Pool{Ready: true, Cause: "subnet subnet-1 has no free addresses", Class: manager.ClassSubnetExhausted})
	ev := EventFor(testNode(), s, t0)
	if ev.InvolvedObject.Kind != "Node" || ev.InvolvedObject.Name != "node-1" || ev.InvolvedObject.UID != "uid-1" ||
		ev.Namespace != metav1.NamespaceDefault || ev.Type != corev1.EventTypeWarning ||
		ev.Reason != ReasonSubnetExhausted || ev.Message != s.Message || ev.Name == "" {
		t.Errorf("EventFor = %+v", ev)
	}
}
