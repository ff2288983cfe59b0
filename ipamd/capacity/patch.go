package capacity

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Message of NetworkUnavailable False.
const upMessage = "vpc-cni ipamd can assign pod addresses"

// statusPatch is the strategic merge patch of a Node's status: the
// conditions merge by type, so the Node's other conditions stay.
type statusPatch struct {
	Status patchStatus `json:"status"`
}

type patchStatus struct {
	Capacity    corev1.ResourceList    `json:"capacity,omitempty"`
	Allocatable corev1.ResourceList    `json:"allocatable,omitempty"`
	Conditions  []corev1.NodeCondition `json:"conditions,omitempty"`
}

// PatchFor is the status patch that brings the node to the state, nil when
// the node already shows it. A condition's lastTransitionTime is kept
// unless its status changes; now stamps the conditions written.
func PatchFor(node *corev1.Node, s State, now time.Time) ([]byte, error) {
	var p patchStatus
	if s.PodIPs > 0 {
		q := *resource.NewQuantity(int64(s.PodIPs), resource.DecimalSI)
		if !sameQuantity(node.Status.Capacity, q) || !sameQuantity(node.Status.Allocatable, q) {
			p.Capacity = corev1.ResourceList{ResourcePodIPs: q}
			p.Allocatable = corev1.ResourceList{ResourcePodIPs: q}
		}
	}
	if s.NetworkUp {
		want := corev1.NodeCondition{Type: corev1.NodeNetworkUnavailable, Status: corev1.ConditionFalse,
			Reason: ReasonUp, Message: upMessage}
		if c, ok := conditionFor(node, want, now); ok {
			p.Conditions = append(p.Conditions, c)
		}
	}
	if s.Reason != "" {
		want := corev1.NodeCondition{Type: ConditionPodIPsAvailable, Status: statusOf(s.Available),
			Reason: s.Reason, Message: s.Message}
		if c, ok := conditionFor(node, want, now); ok {
			p.Conditions = append(p.Conditions, c)
		}
	}
	if p.Capacity == nil && p.Conditions == nil {
		return nil, nil
	}
	b, err := json.Marshal(statusPatch{Status: p})
	if err != nil {
		return nil, fmt.Errorf("node status patch: %w", err)
	}
	return b, nil
}

// sameQuantity reports whether the list holds q for ResourcePodIPs.
func sameQuantity(l corev1.ResourceList, q resource.Quantity) bool {
	v, ok := l[ResourcePodIPs]
	return ok && v.Cmp(q) == 0
}

func statusOf(b bool) corev1.ConditionStatus {
	if b {
		return corev1.ConditionTrue
	}
	return corev1.ConditionFalse
}

// conditionFor is the condition to write for want, stamped with now, and
// whether it differs from what the node shows.
func conditionFor(node *corev1.Node, want corev1.NodeCondition, now time.Time) (corev1.NodeCondition, bool) {
	t := metav1.NewTime(now)
	want.LastHeartbeatTime, want.LastTransitionTime = t, t
	cur := Condition(node, want.Type)
	if cur == nil {
		return want, true
	}
	if cur.Status == want.Status {
		if cur.Reason == want.Reason && cur.Message == want.Message {
			return corev1.NodeCondition{}, false
		}
		want.LastTransitionTime = cur.LastTransitionTime
	}
	return want, true
}

// Condition is the node's condition of the type, nil if it has none.
func Condition(node *corev1.Node, t corev1.NodeConditionType) *corev1.NodeCondition {
	for i := range node.Status.Conditions {
		if node.Status.Conditions[i].Type == t {
			return &node.Status.Conditions[i]
		}
	}
	return nil
}

// EventFor is the Event recorded on the node for the state's cause.
func EventFor(node *corev1.Node, s State, now time.Time) *corev1.Event {
	t := metav1.NewTime(now)
	return &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{
			Name:      node.Name + "." + strconv.FormatInt(now.UnixNano(), 16),
			Namespace: metav1.NamespaceDefault,
		},
		InvolvedObject: corev1.ObjectReference{Kind: "Node", APIVersion: "v1", Name: node.Name, UID: node.UID},
		Reason:         s.Reason,
		Message:        s.Message,
		Type:           corev1.EventTypeWarning,
		Source:         corev1.EventSource{Component: EventComponent, Host: node.Name},
		FirstTimestamp: t, LastTimestamp: t, Count: 1,
		ReportingController: EventComponent, ReportingInstance: EventComponent + "-" + node.Name,
	}
}

// EventComponent is the source of the Events.
const EventComponent = "vpc-cni-ipamd"
