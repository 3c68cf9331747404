package main

import (
	"fmt"
	"math"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/raw"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
)

// shim is the control server's state: the interfaces, the baseline, and the
// netstack instance currently running on them.
type shim struct {
	names      []string // interface names from the command line
	wires      map[string]*wire
	baseline   *request
	stack      *stack.Stack
	routes     *routeTable
	ndp        *ndpDispatcher
	nics       map[string]tcpip.NICID
	dad        map[tcpip.NICID]*dadSetting
	listeners  map[int]*udpListener
	nextHandle int
}

// configure opens the interfaces with the baseline's MACs and MTUs, then
// builds the stack.
func (sh *shim) configure(r *request) (result, error) {
	if sh.stack != nil {
		return nil, failed("already configured")
	}
	sh.wires = map[string]*wire{}
	for _, conf := range r.Interfaces {
		mac, err := tcpip.ParseMACAddress(conf.MAC)
		if err != nil {
			return nil, invalid("%s: bad MAC %q", conf.Name, conf.MAC)
		}
		if !sh.named(conf.Name) {
			return nil, invalid("%s is not on the command line", conf.Name)
		}
		w, err := newWire(conf.Name, mac, conf.MTU)
		if err != nil {
			return nil, failed("%v", err)
		}
		sh.wires[conf.Name] = w
	}
	sh.baseline = r
	return nil, sh.build()
}

func (sh *shim) named(name string) bool {
	for _, n := range sh.names {
		if n == name {
			return true
		}
	}
	return false
}

// reset drops the running stack (neighbour caches, fragment buffers, rate
// limiter, listeners, knobs and all) and builds a fresh one from the baseline.
func (sh *shim) reset(*request) (result, error) {
	for handle, l := range sh.listeners {
		l.endpoint.Close()
		delete(sh.listeners, handle)
	}
	sh.stack.Destroy()
	sh.ndp.stop()
	sh.stack = nil
	return nil, sh.build()
}

// build creates a netstack with the baseline: one NIC per interface, its
// addresses (usable at once: no DAD at baseline, nor later unless a knob
// turns it on), connected and static routes, forwarding, and ICMP error rate
// limiting off.  NDP has netstack's default configuration (as a host, that
// is with forwarding off, it takes default routers, more-specific routes and
// on-link prefixes from Router Advertisements and forms SLAAC addresses,
// temporary ones too) and the shim's dispatcher, which installs the routes.
func (sh *shim) build() error {
	var names []string
	for _, conf := range sh.baseline.Interfaces {
		names = append(names, conf.Name)
	}
	sh.routes = newRouteTable()
	sh.ndp = newNDPDispatcher(sh.routes, names)
	s := stack.New(stack.Options{
		NetworkProtocols: []stack.NetworkProtocolFactory{
			ipv4.NewProtocol, arp.NewProtocol,
			ipv6.NewProtocolWithOptions(ipv6.Options{
				NDPConfigs: ipv6.DefaultNDPConfigurations(),
				DADConfigs: stack.DADConfigurations{DupAddrDetectTransmits: 0},
				NDPDisp:    sh.ndp}),
		},
		TransportProtocols: []stack.TransportProtocolFactory{
			icmp.NewProtocol4, icmp.NewProtocol6, udp.NewProtocol},
		RawFactory: raw.EndpointFactory{},
	})
	s.SetICMPLimit(rate.Inf)
	sh.stack = s
	sh.routes.stack = s
	go sh.ndp.run()
	sh.nics = map[string]tcpip.NICID{}
	sh.dad = map[tcpip.NICID]*dadSetting{}
	for i, conf := range sh.baseline.Interfaces {
		id := tcpip.NICID(i + 1)
		w := sh.wires[conf.Name]
		link := &nicLink{LinkEndpoint: w.endpoint, wire: w, settle: sh.ndp.apply}
		if err := s.CreateNICWithOptions(id, link, stack.NICOptions{Name: conf.Name}); err != nil {
			return failed("%s: creating the NIC: %s", conf.Name, err)
		}
		sh.nics[conf.Name] = id
		sh.dad[id] = &dadSetting{transmits: 1}
		addresses := conf.Addresses
		if conf.LinkLocal != "" {
			addresses = append(append([]string(nil), addresses...), conf.LinkLocal)
		}
		for _, a := range addresses {
			if err := sh.addAddress(id, a); err != nil {
				return err
			}
		}
	}
	for _, route := range sh.baseline.Routes {
		if err := sh.addRoute(route.Destination, route.Gateway, route.Interface); err != nil {
			return err
		}
	}
	for _, family := range sh.baseline.Forwarding {
		if _, err := sh.forwardingSet(&request{Family: &family, Enabled: newTrue()}); err != nil {
			return err
		}
	}
	return nil
}

func newTrue() *bool { t := true; return &t }

// nic finds the NIC of an interface name.
func (sh *shim) nic(name *string) (tcpip.NICID, error) {
	if name == nil {
		return 0, invalid("no interface given")
	}
	id, ok := sh.nics[*name]
	if !ok {
		return 0, invalid("no interface %q", *name)
	}
	return id, nil
}

// nicName is the interface name of a NIC.
func (sh *shim) nicName(id tcpip.NICID) string {
	for name, n := range sh.nics {
		if n == id {
			return name
		}
	}
	return fmt.Sprint(id)
}

// parseAddress parses an IPv4 or IPv6 address into netstack's form.
func parseAddress(text string) (tcpip.Address, tcpip.NetworkProtocolNumber, error) {
	ip := net.ParseIP(text)
	if ip == nil {
		return "", 0, invalid("bad address %q", text)
	}
	if v4 := ip.To4(); v4 != nil && !strings.Contains(text, ":") {
		return tcpip.Address(v4), ipv4.ProtocolNumber, nil
	}
	return tcpip.Address(ip.To16()), ipv6.ProtocolNumber, nil
}

// parsePrefix parses "address/length" (also "default", "default6").
func parsePrefix(text string) (tcpip.AddressWithPrefix, tcpip.NetworkProtocolNumber, error) {
	switch text {
	case "default":
		text = "0.0.0.0/0"
	case "default6":
		text = "::/0"
	}
	slash := strings.IndexByte(text, '/')
	if slash < 0 {
		return tcpip.AddressWithPrefix{}, 0, invalid("%q has no prefix length", text)
	}
	address, protocol, err := parseAddress(text[:slash])
	if err != nil {
		return tcpip.AddressWithPrefix{}, 0, err
	}
	length, err := strconv.Atoi(text[slash+1:])
	if err != nil || length < 0 || length > len(address)*8 {
		return tcpip.AddressWithPrefix{}, 0, invalid("bad prefix length in %q", text)
	}
	return tcpip.AddressWithPrefix{Address: address, PrefixLen: length}, protocol, nil
}

// textOf prints a netstack address.
func textOf(a tcpip.Address) string {
	return net.IP(a).String()
}

// addAddress assigns a permanent address and adds its connected route.
func (sh *shim) addAddress(id tcpip.NICID, text string) error {
	prefix, protocol, err := parsePrefix(text)
	if err != nil {
		return err
	}
	address := tcpip.ProtocolAddress{Protocol: protocol, AddressWithPrefix: prefix}
	if err := sh.stack.AddProtocolAddress(id, address, stack.AddressProperties{}); err != nil {
		return failed("adding %s: %s", text, err)
	}
	sh.routes.insert(tcpip.Route{Destination: prefix.Subnet(), NIC: id})
	return nil
}

func (sh *shim) addrAdd(r *request) (result, error) {
	id, err := sh.nic(r.Interface)
	if err != nil {
		return nil, err
	}
	return nil, sh.addAddress(id, r.Address)
}

// addrDel removes the address and, if no other address of the NIC needs it,
// its connected route.
func (sh *shim) addrDel(r *request) (result, error) {
	id, err := sh.nic(r.Interface)
	if err != nil {
		return nil, err
	}
	prefix, _, err := parsePrefix(r.Address)
	if err != nil {
		return nil, err
	}
	if err := sh.stack.RemoveAddress(id, prefix.Address); err != nil {
		return nil, failed("removing %s: %s", r.Address, err)
	}
	subnet := prefix.Subnet()
	for _, a := range sh.stack.AllAddresses()[id] {
		if a.AddressWithPrefix.Subnet().Equal(subnet) {
			return nil, nil
		}
	}
	sh.routes.remove(func(route tcpip.Route) bool {
		return route.NIC == id && route.Gateway == "" && route.Destination.Equal(subnet)
	})
	return nil, nil
}

// addRoute adds a static route; without an interface, the NIC is the one
// whose connected subnet holds the gateway.
func (sh *shim) addRoute(destination string, gateway, iface *string) error {
	prefix, protocol, err := parsePrefix(destination)
	if err != nil {
		return err
	}
	route := tcpip.Route{Destination: prefix.Subnet()}
	if gateway != nil {
		address, gatewayProtocol, err := parseAddress(*gateway)
		if err != nil {
			return err
		}
		if gatewayProtocol != protocol {
			return invalid("gateway %s is not of the destination's family", *gateway)
		}
		route.Gateway = address
	}
	switch {
	case iface != nil:
		if route.NIC, err = sh.nic(iface); err != nil {
			return err
		}
	case gateway != nil:
		for _, r := range sh.stack.GetRouteTable() {
			if r.Gateway == "" && r.Destination.Contains(route.Gateway) {
				route.NIC = r.NIC
				break
			}
		}
		if route.NIC == 0 {
			return failed("gateway %s is on no connected network", *gateway)
		}
	default:
		return invalid("a route needs a gateway or an interface")
	}
	sh.routes.insert(route)
	return nil
}

func (sh *shim) routeAdd(r *request) (result, error) {
	return nil, sh.addRoute(r.Destination, r.Gateway, r.Interface)
}

// routeDel removes the routes to the destination (matching gateway and
// interface when given).
func (sh *shim) routeDel(r *request) (result, error) {
	prefix, _, err := parsePrefix(r.Destination)
	if err != nil {
		return nil, err
	}
	var gateway tcpip.Address
	if r.Gateway != nil {
		if gateway, _, err = parseAddress(*r.Gateway); err != nil {
			return nil, err
		}
	}
	var id tcpip.NICID
	if r.Interface != nil {
		if id, err = sh.nic(r.Interface); err != nil {
			return nil, err
		}
	}
	subnet := prefix.Subnet()
	removed := sh.routes.remove(func(route tcpip.Route) bool {
		return route.Destination.Equal(subnet) && (r.Gateway == nil || route.Gateway == gateway) &&
			(id == 0 || route.NIC == id)
	})
	if removed == 0 {
		return nil, failed("no route to %s", r.Destination)
	}
	return nil, nil
}

func (sh *shim) linkSet(r *request) (result, error) {
	id, err := sh.nic(r.Interface)
	if err != nil {
		return nil, err
	}
	if r.Up == nil {
		return nil, invalid("no up given")
	}
	var terr tcpip.Error
	if *r.Up {
		terr = sh.stack.EnableNIC(id)
	} else {
		terr = sh.stack.DisableNIC(id)
	}
	if terr != nil {
		return nil, failed("%s", terr)
	}
	return nil, nil
}

// mtuSet: netstack's fdbased endpoint fixes its MTU when it is created.
func (sh *shim) mtuSet(*request) (result, error) {
	return nil, unsupported("netstack's fdbased link endpoint has a fixed MTU")
}

// families are the address families a request names (both when absent).
func families(family *string) ([]tcpip.NetworkProtocolNumber, error) {
	if family == nil || *family == "" {
		return []tcpip.NetworkProtocolNumber{ipv4.ProtocolNumber, ipv6.ProtocolNumber}, nil
	}
	switch *family {
	case "ipv4":
		return []tcpip.NetworkProtocolNumber{ipv4.ProtocolNumber}, nil
	case "ipv6":
		return []tcpip.NetworkProtocolNumber{ipv6.ProtocolNumber}, nil
	}
	return nil, invalid("bad family %q", *family)
}

// selectedNICs is the named interface's NIC, or all of them.
func (sh *shim) selectedNICs(name *string) ([]tcpip.NICID, error) {
	if name != nil {
		id, err := sh.nic(name)
		return []tcpip.NICID{id}, err
	}
	var ids []tcpip.NICID
	for _, id := range sh.nics {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids, nil
}

// neighList lists the ARP and NDP caches, with netstack's state names.
func (sh *shim) neighList(r *request) (result, error) {
	ids, err := sh.selectedNICs(r.Interface)
	if err != nil {
		return nil, err
	}
	neighbors := []result{}
	for _, id := range ids {
		for _, protocol := range []tcpip.NetworkProtocolNumber{ipv4.ProtocolNumber, ipv6.ProtocolNumber} {
			entries, err := sh.stack.Neighbors(id, protocol)
			if err != nil {
				return nil, failed("%s: %s", sh.nicName(id), err)
			}
			for _, e := range entries {
				var mac interface{}
				if e.LinkAddr != "" {
					mac = e.LinkAddr.String()
				}
				neighbors = append(neighbors, result{"address": textOf(e.Addr),
					"interface": sh.nicName(id), "mac": mac, "state": strings.ToUpper(e.State.String())})
			}
		}
	}
	return result{"neighbors": neighbors}, nil
}

func (sh *shim) neighAdd(r *request) (result, error) {
	id, err := sh.nic(r.Interface)
	if err != nil {
		return nil, err
	}
	address, protocol, err := parseAddress(r.Address)
	if err != nil {
		return nil, err
	}
	mac, err := tcpip.ParseMACAddress(r.MAC)
	if err != nil {
		return nil, invalid("bad MAC %q", r.MAC)
	}
	if err := sh.stack.AddStaticNeighbor(id, protocol, address, mac); err != nil {
		return nil, failed("%s", err)
	}
	return nil, nil
}

func (sh *shim) neighFlush(r *request) (result, error) {
	ids, err := sh.selectedNICs(r.Interface)
	if err != nil {
		return nil, err
	}
	protocols, err := families(r.Family)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		for _, protocol := range protocols {
			if err := sh.stack.ClearNeighbors(id, protocol); err != nil {
				return nil, failed("%s: %s", sh.nicName(id), err)
			}
		}
	}
	return nil, nil
}

// forwardingSet flips netstack's per-protocol forwarding switch on every NIC.
func (sh *shim) forwardingSet(r *request) (result, error) {
	protocols, err := families(r.Family)
	if err != nil || r.Family == nil || r.Enabled == nil {
		return nil, invalid("forwarding_set needs a family and enabled")
	}
	if err := sh.stack.SetForwardingDefaultAndAllNICs(protocols[0], *r.Enabled); err != nil {
		return nil, failed("%s", err)
	}
	return nil, nil
}

// knob is one of netstack's run-time options, read and written as text.
type knob struct {
	get func() string
	set func(value string) error
}

// linuxNames are the Linux sysctls that mean the same as one of the knobs
// below, in the same unit.  Not here: net.ipv6.conf.all.hop_limit (Linux
// sends with each interface's own conf.IFACE.hop_limit, netstack has one hop
// limit per stack) and net.ipv4.ipfrag_time (netstack's reassembly timeout is
// a compile-time constant).
var linuxNames = map[string]string{
	"net.ipv4.ip_default_ttl": "ipv4.default_ttl",
}

// knob finds a knob by name:
//
//	icmp_rate_limit           stack-wide ICMP error limit, messages/s ("inf": off, the baseline)
//	icmp_rate_burst           its burst size
//	ipv4.default_ttl          TTL of locally generated IPv4 packets
//	ipv6.default_hop_limit    hop limit of locally generated IPv6 packets
//	nud.IFACE.FAMILY.FIELD    the ARP (ipv4) / NDP (ipv6) cache timing of one
//	                          interface, FIELD one of nudFields
//	net.FAMILY.neigh.IFACE.FIELD  the same under Linux names, FIELD one of linuxNeighFields
//	net.ipv6.conf.IFACE.FIELD     DAD of one interface, FIELD accept_dad, dad_transmits
//	                              or keep_addr_on_down (see confKnob)
//
// and the Linux names of linuxNames.
func (sh *shim) knob(name string) (*knob, error) {
	if native, ok := linuxNames[name]; ok {
		name = native
	}
	s := sh.stack
	switch name {
	case "icmp_rate_limit":
		return &knob{
			get: func() string {
				if s.ICMPLimit() == rate.Inf {
					return "inf"
				}
				return strconv.FormatFloat(float64(s.ICMPLimit()), 'g', -1, 64)
			},
			set: func(v string) error {
				limit, err := strconv.ParseFloat(v, 64)
				if err != nil || limit < 0 {
					return invalid("icmp_rate_limit is a number of messages per second or inf")
				}
				if math.IsInf(limit, 1) {
					limit = float64(rate.Inf)
				}
				s.SetICMPLimit(rate.Limit(limit))
				return nil
			}}, nil
	case "icmp_rate_burst":
		return &knob{
			get: func() string { return strconv.Itoa(s.ICMPBurst()) },
			set: func(v string) error {
				burst, err := strconv.Atoi(v)
				if err != nil || burst < 0 {
					return invalid("icmp_rate_burst is a count")
				}
				s.SetICMPBurst(burst)
				return nil
			}}, nil
	case "ipv4.default_ttl", "ipv6.default_hop_limit":
		protocol := ipv4.ProtocolNumber
		if strings.HasPrefix(name, "ipv6") {
			protocol = ipv6.ProtocolNumber
		}
		return &knob{
			get: func() string {
				var ttl tcpip.DefaultTTLOption
				s.NetworkProtocolOption(protocol, &ttl)
				return strconv.Itoa(int(ttl))
			},
			set: func(v string) error {
				ttl, err := strconv.Atoi(v)
				if err != nil || ttl < 1 || ttl > 255 {
					return invalid("%s is 1 to 255", name)
				}
				option := tcpip.DefaultTTLOption(ttl)
				if err := s.SetNetworkProtocolOption(protocol, &option); err != nil {
					return failed("%s", err)
				}
				return nil
			}}, nil
	}
	parts := strings.Split(name, ".")
	if len(parts) == 4 && parts[0] == "nud" {
		return sh.nudKnob(name, parts[1], parts[2], parts[3], nudFields)
	}
	if len(parts) == 5 && parts[0] == "net" && (parts[1] == "ipv4" || parts[1] == "ipv6") && parts[2] == "neigh" {
		return sh.nudKnob(name, parts[3], parts[1], parts[4], linuxNeighFields)
	}
	if len(parts) == 5 && parts[0] == "net" && parts[1] == "ipv6" && parts[2] == "conf" {
		return sh.confKnob(name, parts[3], parts[4])
	}
	return nil, unsupported("gvisor has no knob %s", name)
}

// nudField is one field of netstack's NUDConfigurations: a duration, whose
// knob values count units, or a count.
type nudField struct {
	duration func(*stack.NUDConfigurations) *time.Duration
	unit     time.Duration
	count    func(*stack.NUDConfigurations) *uint32
}

func baseReachableTime(c *stack.NUDConfigurations) *time.Duration   { return &c.BaseReachableTime }
func delayFirstProbeTime(c *stack.NUDConfigurations) *time.Duration { return &c.DelayFirstProbeTime }
func retransmitTimer(c *stack.NUDConfigurations) *time.Duration     { return &c.RetransmitTimer }
func maxMulticastProbes(c *stack.NUDConfigurations) *uint32         { return &c.MaxMulticastProbes }
func maxUnicastProbes(c *stack.NUDConfigurations) *uint32           { return &c.MaxUnicastProbes }

// nudFields are the shim's own names of the NUD fields.
var nudFields = map[string]nudField{
	"base_reachable_time_ms":    {duration: baseReachableTime, unit: time.Millisecond},
	"delay_first_probe_time_ms": {duration: delayFirstProbeTime, unit: time.Millisecond},
	"retransmit_timer_ms":       {duration: retransmitTimer, unit: time.Millisecond},
	"max_multicast_probes":      {count: maxMulticastProbes},
	"max_unicast_probes":        {count: maxUnicastProbes},
}

// linuxNeighFields are the Linux neighbour sysctls of the same meaning, in
// Linux units.  Linux's ucast_solicit counts the unicast probes of the PROBE
// state and mcast_solicit the broadcast/multicast ones of INCOMPLETE, as
// netstack's two counts do.  Not here: the deprecated retrans_time (USER_HZ
// ticks), app_solicit and mcast_resolicit (netstack has neither: no user-space
// probes, unicast only in PROBE), gc_*, locktime, proxy_* (no equivalents).
var linuxNeighFields = map[string]nudField{
	"base_reachable_time_ms": {duration: baseReachableTime, unit: time.Millisecond},
	"base_reachable_time":    {duration: baseReachableTime, unit: time.Second},
	"delay_first_probe_time": {duration: delayFirstProbeTime, unit: time.Second},
	"retrans_time_ms":        {duration: retransmitTimer, unit: time.Millisecond},
	"ucast_solicit":          {count: maxUnicastProbes},
	"mcast_solicit":          {count: maxMulticastProbes},
}

// nudKnob is one field of an interface's neighbour cache configuration.
// netstack silently replaces values below its minimums (1 ms for the reachable
// time and retransmit timer, 1 for counts) by its defaults; such values are
// refused instead.
func (sh *shim) nudKnob(name, iface, family, field string, fields map[string]nudField) (*knob, error) {
	f, ok := fields[field]
	if !ok {
		return nil, unsupported("gvisor has no knob %s", name)
	}
	id, err := sh.nic(&iface)
	if err != nil {
		return nil, err
	}
	protocols, err := families(&family)
	if err != nil {
		return nil, err
	}
	s, protocol := sh.stack, protocols[0]
	config := func() stack.NUDConfigurations {
		c, _ := s.NUDConfigurations(id, protocol)
		return c
	}
	get := func() string {
		c := config()
		if f.count != nil {
			return strconv.FormatUint(uint64(*f.count(&c)), 10)
		}
		return strconv.FormatInt(int64(*f.duration(&c)/f.unit), 10)
	}
	set := func(v string) error {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return invalid("%s is a whole number", name)
		}
		old := config()
		c := old
		if f.count != nil {
			*f.count(&c) = uint32(n)
		} else {
			d := time.Duration(n) * f.unit
			if d == 0 {
				// 0 asks for no delay; netstack reads 0 as "the default", so the
				// shortest duration stands in (only the first-probe delay takes it).
				d = time.Nanosecond
			}
			*f.duration(&c) = d
		}
		if err := s.SetNUDConfigurations(id, protocol, c); err != nil {
			return failed("%s", err)
		}
		if config() != c {
			s.SetNUDConfigurations(id, protocol, old)
			return invalid("netstack does not take %s %s (below its minimum)", name, v)
		}
		return nil
	}
	return &knob{get: get, set: set}, nil
}

// knobText is a knob value sent as a JSON string or number.
func knobText(value interface{}) string {
	if f, ok := value.(float64); ok {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return fmt.Sprint(value)
}

func (sh *shim) knobSet(r *request) (result, error) {
	k, err := sh.knob(r.Name)
	if err != nil {
		return nil, err
	}
	return nil, k.set(knobText(r.Value))
}

func (sh *shim) knobGet(r *request) (result, error) {
	k, err := sh.knob(r.Name)
	if err != nil {
		return nil, err
	}
	return result{"value": k.get()}, nil
}
