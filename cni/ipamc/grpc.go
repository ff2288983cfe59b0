package ipamc

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	ipamv1 "github.com/vpc-cni/vpc-cni/proto/ipam/v1"
)

// GRPC is the Client over ipamd's gRPC service on its unix socket.
//
// It is built for a short-lived process on the pod start path: Dial does
// not connect (the first call does), a call never waits for ipamd to come
// up (gRPC's fail-fast default: a refused or missing socket fails the call
// at once with ErrUnreachable) and nothing is retried, so a dead ipamd is
// reported, not hidden. Each call is bounded by its context's deadline.
type GRPC struct {
	socket string
	dialer *dialer
	conn   *grpc.ClientConn
	rpc    ipamv1.IPAMClient
}

var _ Client = (*GRPC)(nil)

// Dial returns a client of ipamd on the unix socket at path. It checks
// that the socket exists, so that a missing one fails here with
// ErrUnreachable, but does not connect.
func Dial(socket string) (*GRPC, error) {
	if socket == "" {
		return nil, errors.New("no ipamd socket path: set ipamdSocket in the CNI configuration")
	}
	path, err := filepath.Abs(socket)
	if err != nil {
		return nil, fmt.Errorf("ipamd socket %s: %w", socket, err)
	}
	if err := checkSocket(path); err != nil {
		return nil, err
	}
	d := &dialer{path: path}
	conn, err := grpc.NewClient("unix://"+path,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(d.dial))
	if err != nil {
		return nil, fmt.Errorf("ipamd client for %s: %w", path, err)
	}
	return &GRPC{socket: path, dialer: d, conn: conn, rpc: ipamv1.NewIPAMClient(conn)}, nil
}

// checkSocket fails with ErrUnreachable when path is absent or not a unix
// socket (nothing could answer there).
func checkSocket(path string) error {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		return &callError{kinds: []error{ErrUnreachable},
			msg: fmt.Sprintf("ipamd socket %s does not exist: is ipamd running?", path)}
	case err != nil:
		return fmt.Errorf("ipamd socket %s: %w", path, err)
	case fi.Mode().Type() != fs.ModeSocket:
		return &callError{kinds: []error{ErrUnreachable},
			msg: fmt.Sprintf("ipamd socket %s is not a socket (%s): is ipamd running, and is ipamdSocket in the CNI configuration its socket?", path, fi.Mode().Type())}
	}
	return nil
}

// Socket is the socket's absolute path.
func (c *GRPC) Socket() string { return c.socket }

// Close closes the connection.
func (c *GRPC) Close() error { return c.conn.Close() }

// Add asks ipamd for the attachment's address.
func (c *GRPC) Add(ctx context.Context, r AddRequest) (AddResult, error) {
	resp, err := c.rpc.AddNetwork(ctx, &ipamv1.AddNetworkRequest{
		ContainerId:  r.ContainerID,
		Ifname:       r.IfName,
		Netns:        r.NetNS,
		PodNamespace: r.PodNamespace,
		PodName:      r.PodName,
		PodUid:       r.PodUID,
		HostIfname:   r.HostIfName,
	})
	if err != nil {
		return AddResult{}, c.callErr(ctx, err)
	}
	res, err := addResultOf(resp)
	if err != nil {
		return AddResult{}, malformed("AddNetwork", err)
	}
	return res, nil
}

// Del asks ipamd to release the attachment's address.
func (c *GRPC) Del(ctx context.Context, a Attachment) (Allocation, bool, error) {
	resp, err := c.rpc.DelNetwork(ctx, &ipamv1.DelNetworkRequest{ContainerId: a.ContainerID, Ifname: a.IfName})
	if err != nil {
		return Allocation{}, false, c.callErr(ctx, err)
	}
	alloc, err := foundOf(resp.GetFound(), resp.GetAllocation())
	if err != nil {
		return Allocation{}, false, malformed("DelNetwork", err)
	}
	return alloc, resp.GetFound(), nil
}

// Check asks ipamd whether it still holds the attachment's address.
func (c *GRPC) Check(ctx context.Context, a Attachment) (Allocation, bool, error) {
	resp, err := c.rpc.CheckNetwork(ctx, &ipamv1.CheckNetworkRequest{ContainerId: a.ContainerID, Ifname: a.IfName})
	if err != nil {
		return Allocation{}, false, c.callErr(ctx, err)
	}
	alloc, err := foundOf(resp.GetFound(), resp.GetAllocation())
	if err != nil {
		return Allocation{}, false, malformed("CheckNetwork", err)
	}
	return alloc, resp.GetFound(), nil
}

// Status asks ipamd whether an Add can succeed now.
func (c *GRPC) Status(ctx context.Context) (Status, error) {
	resp, err := c.rpc.Status(ctx, &ipamv1.StatusRequest{})
	if err != nil {
		return Status{}, c.callErr(ctx, err)
	}
	if n := resp.GetAvailable(); n < 0 {
		return Status{}, malformed("Status", fmt.Errorf("available %d: negative", n))
	}
	return Status{Ready: resp.GetReady(), Reason: resp.GetReason(), Available: int(resp.GetAvailable())}, nil
}

// GC asks ipamd to release every allocation not among valid.
func (c *GRPC) GC(ctx context.Context, valid []Attachment) ([]Released, error) {
	req := &ipamv1.GarbageCollectRequest{ValidAttachments: make([]*ipamv1.Attachment, 0, len(valid))}
	for _, a := range valid {
		req.ValidAttachments = append(req.ValidAttachments, &ipamv1.Attachment{ContainerId: a.ContainerID, Ifname: a.IfName})
	}
	resp, err := c.rpc.GarbageCollect(ctx, req)
	if err != nil {
		return nil, c.callErr(ctx, err)
	}
	released, err := releasedOf(resp.GetReleased())
	if err != nil {
		return nil, malformed("GarbageCollect", err)
	}
	return released, nil
}
