package sim

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strings"
	"sync"
	"time"
)

// Server is ec2sim: a World and its Knobs, served as the EC2 Query API
// (with the admin API under /sim/) on one listener and IMDSv2 on another.
type Server struct {
	world   *World
	knobs   *Knobs
	log     *slog.Logger
	ec2     http.Handler
	imds    http.Handler
	account string

	mu      sync.Mutex
	delays  DelaysConfig
	ec2Srv  *http.Server
	imdsSrv *http.Server
	ec2URL  string
	imdsURL string
	// cancel cancels the context every request of the listeners runs
	// under, so that Close ends the requests waiting in a latency knob.
	cancel context.CancelFunc
}

// New builds the world a config describes. It does not listen: see Start,
// or serve EC2Handler and IMDSHandler yourself.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	now := cfg.Clock
	if now == nil {
		now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	account := cmp.Or(cfg.AccountID, DefaultAccountID)
	world := NewWorld(WorldOptions{
		Region: cfg.Region, AccountID: account, Now: now, Seed: cfg.Seed,
		AttachDelay: time.Duration(cfg.Delays.Attach), DetachDelay: time.Duration(cfg.Delays.Detach),
		IMDSLag: time.Duration(cfg.Delays.IMDSLag),
	})
	knobs := newConfiguredKnobs(cfg, now)
	if err := populate(world, cfg); err != nil {
		return nil, err
	}
	s := &Server{world: world, knobs: knobs, log: log, account: account,
		delays: cfg.Delays}
	api := &ec2API{world: world, knobs: knobs, view: xmlView{region: cfg.Region, account: account},
		pages: newPageTokens(), tokens: newClientTokens(now), log: log}
	admin := newAdminAPI(s)
	s.ec2 = recoverEC2(log, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/sim/") {
			admin.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	}))
	s.imds = recoverIMDS(log, newIMDSServer(world, account, now))
	return s, nil
}

// newConfiguredKnobs returns knobs set as the config says.
func newConfiguredKnobs(cfg Config, now func() time.Time) *Knobs {
	knobs := NewKnobs(now, cfg.Seed)
	knobs.SetThrottle(cfg.Throttle)
	for action, d := range cfg.Latency {
		knobs.SetLatency(action, time.Duration(d))
	}
	for _, f := range cfg.Faults {
		knobs.AddFault(f)
	}
	return knobs
}

// populate creates the config's VPCs, subnets and instances. It parses
// what it needs itself, so that a config nobody validated fails cleanly.
func populate(w *World, cfg Config) error {
	subnets := map[string]string{} // name or CIDR -> id
	defaultAZ := cmp.Or(cfg.AZ, cfg.Region+"a")
	for i, vc := range cfg.VPCs {
		if err := populateVPC(w, fmt.Sprintf("config: vpcs[%d]", i), vc, defaultAZ, subnets); err != nil {
			return err
		}
	}
	for i, ic := range cfg.Instances {
		var ip netip.Addr
		if ic.PrimaryIP != "" {
			var err error
			if ip, err = netip.ParseAddr(ic.PrimaryIP); err != nil {
				return fmt.Errorf("config: instances[%d].primaryIp: %w", i, err)
			}
		}
		if _, err := w.LaunchInstance(ic.Type, subnets[ic.Subnet], ip); err != nil {
			return fmt.Errorf("config: instances[%d]: %w", i, err)
		}
	}
	return nil
}

// populateVPC creates a VPC and its subnets, recording each subnet's id
// under its name and CIDR; field names the VPC in errors.
func populateVPC(w *World, field string, vc VPCConfig, defaultAZ string, subnets map[string]string) error {
	cidr, err := netip.ParsePrefix(vc.CIDR)
	if err != nil {
		return fmt.Errorf("%s.cidr: %w", field, err)
	}
	vpc, err := w.CreateVPC(cidr, tagList(vc.Tags))
	if err != nil {
		return fmt.Errorf("%s: %w", field, err)
	}
	for j, sc := range vc.Subnets {
		tags := sc.Tags
		if sc.Name != "" {
			tags = mapWith(tags, "Name", sc.Name)
		}
		cidr, err := netip.ParsePrefix(sc.CIDR)
		if err != nil {
			return fmt.Errorf("%s.subnets[%d].cidr: %w", field, j, err)
		}
		sub, err := w.CreateSubnet(vpc.ID, cmp.Or(sc.AZ, defaultAZ), cidr, tagList(tags))
		if err != nil {
			return fmt.Errorf("%s.subnets[%d]: %w", field, j, err)
		}
		subnets[sc.CIDR] = sub.ID
		if sc.Name != "" {
			subnets[sc.Name] = sub.ID
		}
	}
	return nil
}

// mapWith returns a copy of m with k set to v (if not already set).
func mapWith(m map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for key, val := range m {
		out[key] = val
	}
	if _, ok := out[k]; !ok {
		out[k] = v
	}
	return out
}

// Start listens on the two addresses (":0" or "127.0.0.1:0" for ephemeral
// ports) and serves until Close.
func (s *Server) Start(ec2Addr, imdsAddr string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ec2Srv != nil {
		return errors.New("ec2sim: already started")
	}
	el, err := net.Listen("tcp", ec2Addr)
	if err != nil {
		return fmt.Errorf("listen for ec2 on %s: %w", ec2Addr, err)
	}
	il, err := net.Listen("tcp", imdsAddr)
	if err != nil {
		_ = el.Close()
		return fmt.Errorf("listen for imds on %s: %w", imdsAddr, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	base := func(net.Listener) context.Context { return ctx }
	s.ec2Srv = &http.Server{Handler: s.ec2, ReadHeaderTimeout: 30 * time.Second, BaseContext: base}
	s.imdsSrv = &http.Server{Handler: s.imds, ReadHeaderTimeout: 30 * time.Second, BaseContext: base}
	s.cancel = cancel
	s.ec2URL, s.imdsURL = listenURL(el.Addr()), listenURL(il.Addr())
	go s.serve(s.ec2Srv, el, "ec2")
	go s.serve(s.imdsSrv, il, "imds")
	return nil
}

func (s *Server) serve(srv *http.Server, l net.Listener, name string) {
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		s.log.Error("serve", logKeyListener, name, logKeyErr, err)
	}
}

// listenURL is the URL to reach a listener at; an unspecified address
// (":0") is reached on loopback.
func listenURL(a net.Addr) string {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return "http://" + a.String()
	}
	ip := ap.Addr().Unmap()
	if ip.IsUnspecified() {
		ip = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	return "http://" + netip.AddrPortFrom(ip, ap.Port()).String()
}

// EC2URL is the EC2 endpoint's URL once started ("" before).
func (s *Server) EC2URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ec2URL
}

// IMDSURL is the metadata endpoint's URL once started ("" before).
func (s *Server) IMDSURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.imdsURL
}

// World is the emulated state.
func (s *Server) World() *World { return s.world }

// Knobs are the realism controls.
func (s *Server) Knobs() *Knobs { return s.knobs }

// EC2Handler serves the EC2 Query API and the admin API under /sim/.
func (s *Server) EC2Handler() http.Handler { return s.ec2 }

// IMDSHandler serves IMDSv2.
func (s *Server) IMDSHandler() http.Handler { return s.imds }

// Close stops both listeners. Requests waiting in a latency knob end at
// once without an answer; the others get a few seconds to finish.
func (s *Server) Close() error {
	s.mu.Lock()
	srvs := []*http.Server{s.ec2Srv, s.imdsSrv}
	cancel := s.cancel
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var errs []error
	for _, srv := range srvs {
		if srv == nil {
			continue
		}
		if err := srv.Shutdown(ctx); err != nil {
			errs = append(errs, err, srv.Close())
		}
	}
	return errors.Join(errs...)
}

// recoverEC2 turns a panic into EC2's InternalError, and logs it. It is a
// backstop: no input should make a handler panic.
func recoverEC2(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.Error("panic serving ec2", logKeyPath, r.URL.Path, logKeyPanic, fmt.Sprint(v), logKeyStack, string(debug.Stack()))
				writeEC2Error(w, newRequestID(), internalError())
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// recoverIMDS is recoverEC2 for the metadata service: a bare 500.
func recoverIMDS(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.Error("panic serving imds", logKeyPath, r.URL.Path, logKeyPanic, fmt.Sprint(v), logKeyStack, string(debug.Stack()))
				imdsText(w, http.StatusInternalServerError, "")
			}
		}()
		next.ServeHTTP(w, r)
	})
}
