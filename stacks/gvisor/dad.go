package main

import (
	"strconv"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// dadSetting is the Duplicate Address Detection of one interface as the
// Linux sysctls net.ipv6.conf.IFACE.accept_dad and dad_transmits put it:
// netstack probes a new address dad_transmits times when accept_dad is on,
// not at all when it is off (the baseline, as on every stack).
type dadSetting struct {
	accept    bool
	transmits uint8
}

// applyDAD hands the setting to the interface's IPv6 endpoint; addresses added
// from then on (and all of them when the interface next comes up) follow it.
func (sh *shim) applyDAD(id tcpip.NICID) error {
	ep, err := sh.stack.GetNetworkEndpoint(id, ipv6.ProtocolNumber)
	if err != nil {
		return failed("%s: %s", sh.nicName(id), err)
	}
	config := stack.DefaultDADConfigurations()
	config.DupAddrDetectTransmits = 0
	if d := sh.dad[id]; d.accept {
		config.DupAddrDetectTransmits = d.transmits
	}
	ep.(stack.DuplicateAddressDetector).SetDADConfigurations(config)
	return nil
}

// confKnob is one of the net.ipv6.conf.IFACE sysctls netstack has a meaning
// for:
//
//	accept_dad         0 or 1 (Linux's 2, which also turns IPv6 off on a
//	                   duplicate MAC-based link-local address, netstack cannot do)
//	dad_transmits      probes per address, 0 to 255
//	keep_addr_on_down  1 only: netstack keeps an interface's addresses while it
//	                   is down, and probes them again when it comes up
//
// Linux's net.ipv6.conf.all.accept_dad also turns DAD on for every
// interface; it is not taken here.
func (sh *shim) confKnob(name, iface, field string) (*knob, error) {
	if field != "accept_dad" && field != "dad_transmits" && field != "keep_addr_on_down" {
		return nil, unsupported("gvisor has no knob %s", name)
	}
	id, err := sh.nic(&iface)
	if err != nil {
		return nil, err
	}
	d := sh.dad[id]
	switch field {
	case "accept_dad":
		return &knob{
			get: func() string {
				if d.accept {
					return "1"
				}
				return "0"
			},
			set: func(v string) error {
				switch v {
				case "0", "1":
					d.accept = v == "1"
					return sh.applyDAD(id)
				case "2":
					return unsupported("netstack cannot turn IPv6 off on a duplicate link-local address (accept_dad 2)")
				}
				return invalid("%s is 0, 1 or 2", name)
			}}, nil
	case "dad_transmits":
		return &knob{
			get: func() string { return strconv.Itoa(int(d.transmits)) },
			set: func(v string) error {
				n, err := strconv.ParseUint(v, 10, 8)
				if err != nil {
					return invalid("netstack takes %s from 0 to 255", name)
				}
				d.transmits = uint8(n)
				return sh.applyDAD(id)
			}}, nil
	}
	return &knob{
		get: func() string { return "1" },
		set: func(v string) error {
			if v != "1" {
				return unsupported("netstack always keeps an interface's addresses while it is down")
			}
			return nil
		}}, nil
}
