package main

import (
	"fmt"
	"os"
	"sort"
	"sync"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// routeTable is the stack's route table as the shim keeps it: longest prefix
// first (netstack takes the first matching route), and among routes of one
// prefix length the higher RFC 4191 preference first.  Routes learnt from
// Router Advertisements carry their router's preference; the others count
// as medium.  Every change goes through mu, as the control connection and
// the NDP dispatcher both change the table.
type routeTable struct {
	mu         sync.Mutex
	stack      *stack.Stack
	preference map[tcpip.Route]header.NDPRoutePreference
}

func newRouteTable() *routeTable {
	return &routeTable{preference: map[tcpip.Route]header.NDPRoutePreference{}}
}

// rank orders preferences: high, medium, low (RFC 4191 section 2.1).
func rank(p header.NDPRoutePreference) int {
	switch p {
	case header.HighRoutePreference:
		return 2
	case header.LowRoutePreference:
		return 0
	}
	return 1
}

// setLocked sorts the table and hands it to the stack.
func (t *routeTable) setLocked(table []tcpip.Route) {
	sort.SliceStable(table, func(i, j int) bool {
		if a, b := table[i].Destination.Prefix(), table[j].Destination.Prefix(); a != b {
			return a > b
		}
		return rank(t.preference[table[i]]) > rank(t.preference[table[j]])
	})
	t.stack.SetRouteTable(table)
}

// insert adds a route in its place.
func (t *routeTable) insert(route tcpip.Route) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.setLocked(append(t.stack.GetRouteTable(), route))
}

// remove drops the matching routes and says how many there were.
func (t *routeTable) remove(match func(tcpip.Route) bool) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	var kept []tcpip.Route
	removed := 0
	for _, route := range t.stack.GetRouteTable() {
		if match(route) {
			removed++
			delete(t.preference, route)
		} else {
			kept = append(kept, route)
		}
	}
	t.stack.SetRouteTable(kept)
	return removed
}

// learn adds a route a Router Advertisement gave, or updates its preference.
func (t *routeTable) learn(route tcpip.Route, preference header.NDPRoutePreference) {
	t.mu.Lock()
	defer t.mu.Unlock()
	table := t.stack.GetRouteTable()
	if _, known := t.preference[route]; !known {
		table = append(table, route)
	}
	t.preference[route] = preference
	t.setLocked(table)
}

// forget drops a learnt route: one entry only, so that an identical static
// or connected route stays.
func (t *routeTable) forget(route tcpip.Route) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, known := t.preference[route]; !known {
		return
	}
	delete(t.preference, route)
	table := t.stack.GetRouteTable()
	for i := len(table) - 1; i >= 0; i-- {
		if table[i] == route {
			t.setLocked(append(table[:i], table[i+1:]...))
			return
		}
	}
}

// ndpDispatcher is the shim's ipv6.NDPDispatcher, the part of NDP netstack
// leaves to its integrator.  Netstack itself validates Router
// Advertisements, keeps the lifetimes of default routers, more-specific
// routes (RFC 4191) and on-link prefixes, and forms, deprecates and removes
// SLAAC addresses; it tells the dispatcher when a route or on-link prefix
// comes or goes, and the dispatcher puts it in the route table or takes it
// out (an on-link prefix is a route with no gateway).  Netstack calls the
// dispatcher with its IPv6 endpoint locked and forbids it to call into the
// stack (the route table's lock is taken before the endpoint's), so each
// change is queued, then applied by apply: after every frame the stack
// receives, on the goroutine that read it (so a route an advertisement gives
// is in place before the next frame from that link is handled, as when a
// kernel installs it while processing the advertisement), and by a goroutine
// of its own for the changes timers make (lifetimes running out).
type ndpDispatcher struct {
	routes   *routeTable
	names    []string // interface names, NIC i+1 being names[i]
	mu       sync.Mutex
	queue    []func()
	applying sync.Mutex // one apply at a time, so changes keep their order
	wake     chan struct{}
	done     chan struct{}
}

var _ ipv6.NDPDispatcher = (*ndpDispatcher)(nil)

func newNDPDispatcher(routes *routeTable, names []string) *ndpDispatcher {
	return &ndpDispatcher{routes: routes, names: names, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// run applies the queued changes as they come, until stop.
func (d *ndpDispatcher) run() {
	for {
		select {
		case <-d.done:
			return
		case <-d.wake:
			d.apply()
		}
	}
}

// apply makes the queued changes, in order.  It must be called with no lock
// of the stack held.
func (d *ndpDispatcher) apply() {
	d.applying.Lock()
	defer d.applying.Unlock()
	d.mu.Lock()
	queue := d.queue
	d.queue = nil
	d.mu.Unlock()
	for _, change := range queue {
		change()
	}
}

// stop ends run; changes still queued are dropped with their stack.
func (d *ndpDispatcher) stop() { close(d.done) }

// enqueue queues a change for run, without blocking.
func (d *ndpDispatcher) enqueue(change func()) {
	d.mu.Lock()
	d.queue = append(d.queue, change)
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *ndpDispatcher) log(nic tcpip.NICID, format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "ndp: %s: %s\n", d.names[nic-1], fmt.Sprintf(format, a...))
}

// OnDuplicateAddressDetectionResult implements ipv6.NDPDispatcher.
func (d *ndpDispatcher) OnDuplicateAddressDetectionResult(nic tcpip.NICID, address tcpip.Address, result stack.DADResult) {
	d.log(nic, "DAD of %s: %T", textOf(address), result)
}

// OnOffLinkRouteUpdated implements ipv6.NDPDispatcher: a default router
// (destination ::/0) or a more-specific route, new or with a new preference.
func (d *ndpDispatcher) OnOffLinkRouteUpdated(nic tcpip.NICID, destination tcpip.Subnet, router tcpip.Address, preference header.NDPRoutePreference) {
	route := tcpip.Route{Destination: destination, Gateway: router, NIC: nic}
	d.log(nic, "route %s learnt (%s)", route, preference)
	d.enqueue(func() { d.routes.learn(route, preference) })
}

// OnOffLinkRouteInvalidated implements ipv6.NDPDispatcher.
func (d *ndpDispatcher) OnOffLinkRouteInvalidated(nic tcpip.NICID, destination tcpip.Subnet, router tcpip.Address) {
	route := tcpip.Route{Destination: destination, Gateway: router, NIC: nic}
	d.log(nic, "route %s invalidated", route)
	d.enqueue(func() { d.routes.forget(route) })
}

// OnOnLinkPrefixDiscovered implements ipv6.NDPDispatcher.
func (d *ndpDispatcher) OnOnLinkPrefixDiscovered(nic tcpip.NICID, prefix tcpip.Subnet) {
	route := tcpip.Route{Destination: prefix, NIC: nic}
	d.log(nic, "on-link prefix %s learnt", prefix)
	d.enqueue(func() { d.routes.learn(route, header.MediumRoutePreference) })
}

// OnOnLinkPrefixInvalidated implements ipv6.NDPDispatcher.
func (d *ndpDispatcher) OnOnLinkPrefixInvalidated(nic tcpip.NICID, prefix tcpip.Subnet) {
	route := tcpip.Route{Destination: prefix, NIC: nic}
	d.log(nic, "on-link prefix %s invalidated", prefix)
	d.enqueue(func() { d.routes.forget(route) })
}

// OnAutoGenAddress implements ipv6.NDPDispatcher: netstack has added the
// address itself.  An address does not make its prefix on-link (RFC 5942),
// so no route comes with it.
func (d *ndpDispatcher) OnAutoGenAddress(nic tcpip.NICID, address tcpip.AddressWithPrefix) stack.AddressDispatcher {
	d.log(nic, "SLAAC address %s formed", address)
	return nil
}

// OnAutoGenAddressDeprecated implements ipv6.NDPDispatcher.
func (d *ndpDispatcher) OnAutoGenAddressDeprecated(nic tcpip.NICID, address tcpip.AddressWithPrefix) {
	d.log(nic, "SLAAC address %s deprecated", address)
}

// OnAutoGenAddressInvalidated implements ipv6.NDPDispatcher.
func (d *ndpDispatcher) OnAutoGenAddressInvalidated(nic tcpip.NICID, address tcpip.AddressWithPrefix) {
	d.log(nic, "SLAAC address %s invalidated", address)
}

// OnRecursiveDNSServerOption implements ipv6.NDPDispatcher (no resolver here).
func (*ndpDispatcher) OnRecursiveDNSServerOption(tcpip.NICID, []tcpip.Address, time.Duration) {}

// OnDNSSearchListOption implements ipv6.NDPDispatcher (no resolver here).
func (*ndpDispatcher) OnDNSSearchListOption(tcpip.NICID, []string, time.Duration) {}

// OnDHCPv6Configuration implements ipv6.NDPDispatcher (no DHCPv6 client here).
func (*ndpDispatcher) OnDHCPv6Configuration(tcpip.NICID, ipv6.DHCPv6ConfigurationFromNDPRA) {}
