// Package netenv is the lab's network plumbing: the named network
// namespaces (P-fabric, P-inet, P-node<i>, pods P-n<i>-p<j>), the VPC fabric
// and the "internet" host, and the follower that keeps the fabric in step
// with ec2sim's ground truth.
//
// Every ENI attached to a lab instance is a veth pair: the node side,
// eth<deviceIndex> in P-node<i>, carries the ENI's MAC; the fabric side,
// n<i>e<deviceIndex> in P-fabric, answers ARP for everything (proxy_arp),
// drops packets whose source the ENI does not own (strict rp_filter, since
// each owned address is routed through its ENI's link only) and holds a /32
// route and a permanent neighbour for every address the ENI owns and a
// route for each /28 prefix delegated to it.
//
// The decision is a pure function: DesiredFrom turns a sim.State into the
// Desired fabric, Plan compares it with the Actual one and returns the
// Actions; Reconcile gathers the actual state with netlink and applies the
// plan, and Follow does that every 100 ms from ec2sim's admin API.
package netenv
