package main

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"
)

// wakeup is a waiter entry that signals a channel when an endpoint is readable.
func wakeup(queues ...*waiter.Queue) (chan struct{}, func()) {
	ready := make(chan struct{}, 1)
	entry := waiter.NewFunctionEntry(waiter.ReadableEvents, func(waiter.EventMask) {
		select {
		case ready <- struct{}{}:
		default:
		}
	})
	for _, q := range queues {
		q.EventRegister(&entry)
	}
	return ready, func() {
		for _, q := range queues {
			q.EventUnregister(&entry)
		}
	}
}

// echo sends echo requests through netstack's ICMP (ping) endpoint, which
// also receives the replies; ICMP errors, which that endpoint discards, are
// read from a raw ICMP endpoint opened for the duration.
func (sh *shim) echo(r *request) (result, error) {
	destination, protocol, err := parseAddress(r.Destination)
	if err != nil {
		return nil, err
	}
	v4 := protocol == ipv4.ProtocolNumber
	if r.DontFragment && v4 {
		return nil, unsupported("netstack cannot set DF on the packets it sends (IP_MTU_DISCOVER is always PMTUDISC_DONT)")
	}
	icmpProtocol, echoRequest := header.ICMPv6ProtocolNumber, byte(header.ICMPv6EchoRequest)
	if v4 {
		icmpProtocol, echoRequest = header.ICMPv4ProtocolNumber, byte(header.ICMPv4Echo)
	}
	var pingQueue, rawQueue waiter.Queue
	ping, terr := sh.stack.NewEndpoint(icmpProtocol, protocol, &pingQueue)
	if terr != nil {
		return nil, failed("ping endpoint: %s", terr)
	}
	defer ping.Close()
	errorsEndpoint, terr := sh.stack.NewRawEndpoint(icmpProtocol, protocol, &rawQueue, true)
	if terr != nil {
		return nil, failed("raw ICMP endpoint: %s", terr)
	}
	defer errorsEndpoint.Close()
	ready, unregister := wakeup(&pingQueue, &rawQueue)
	defer unregister()
	if r.Source != nil {
		source, _, err := parseAddress(*r.Source)
		if err != nil {
			return nil, err
		}
		if terr := ping.Bind(tcpip.FullAddress{Addr: source}); terr != nil {
			return nil, failed("binding to %s: %s", *r.Source, terr)
		}
	}
	if v4 {
		ping.SocketOptions().SetReceiveTTL(true)
	} else {
		ping.SocketOptions().SetReceiveHopLimit(true)
	}
	if r.TTL != nil {
		option := tcpip.IPv4TTLOption
		if !v4 {
			option = tcpip.IPv6HopLimitOption
		}
		if terr := ping.SetSockOptInt(option, *r.TTL); terr != nil {
			return nil, invalid("ttl %d: %s", *r.TTL, terr)
		}
	}
	if r.Count < 1 || r.Size < 0 {
		return nil, invalid("count must be at least 1 and size not negative")
	}

	interval := time.Duration(r.Interval * float64(time.Second))
	start := time.Now()
	deadline := start.Add(time.Duration(r.Count-1)*interval + time.Duration(r.Timeout*float64(time.Second)))
	sent := map[uint16]time.Time{}
	replies, problems := []result{}, []string{}
	ident := -1
	for seq := 1; ; {
		now := time.Now()
		if seq <= r.Count && !now.Before(start.Add(time.Duration(seq-1)*interval)) {
			message := make([]byte, 8+r.Size)
			message[0] = echoRequest
			binary.BigEndian.PutUint16(message[6:], uint16(seq))
			for i := 8; i < len(message); i++ {
				message[i] = byte(i - 8)
			}
			_, terr := ping.Write(bytes.NewReader(message), tcpip.WriteOptions{To: &tcpip.FullAddress{Addr: destination}})
			if terr != nil {
				problems = append(problems, localError(terr))
			} else {
				sent[uint16(seq)] = now
				if local, terr := ping.GetLocalAddress(); terr == nil {
					ident = int(local.Port)
				}
			}
			seq++
			continue
		}
		replies = append(replies, readReplies(ping, sent)...)
		problems = append(problems, readErrors(errorsEndpoint, v4, ident)...)
		if !now.Before(deadline) {
			break
		}
		wait := deadline.Sub(now)
		if seq <= r.Count {
			if next := start.Add(time.Duration(seq-1) * interval).Sub(now); next < wait {
				wait = next
			}
		}
		select {
		case <-ready:
		case <-time.After(wait):
		}
	}
	return result{"transmitted": len(sent), "replies": replies, "errors": problems}, nil
}

// localError words a failed send like iputils.
func localError(err tcpip.Error) string {
	switch err.(type) {
	case *tcpip.ErrNetworkUnreachable:
		return "connect: Network is unreachable"
	case *tcpip.ErrHostUnreachable:
		return "connect: No route to host"
	case *tcpip.ErrMessageTooLong:
		return "local error: message too long"
	}
	return fmt.Sprintf("local error: %s", err)
}

// readReplies drains the echo replies queued on the ping endpoint.
func readReplies(ping tcpip.Endpoint, sent map[uint16]time.Time) []result {
	replies := []result{}
	for {
		var data bytes.Buffer
		res, err := ping.Read(&data, tcpip.ReadOptions{NeedRemoteAddr: true})
		if err != nil {
			return replies
		}
		message := data.Bytes()
		if len(message) < 8 {
			continue
		}
		seq := binary.BigEndian.Uint16(message[6:])
		ttl := res.ControlMessages.TTL
		if res.ControlMessages.HasHopLimit {
			ttl = res.ControlMessages.HopLimit
		}
		rtt := 0.0
		if at, ok := sent[seq]; ok {
			rtt = float64(res.ControlMessages.Timestamp.Sub(at).Microseconds()) / 1000
		}
		replies = append(replies, result{"source": textOf(res.RemoteAddr.Addr), "seq": seq,
			"ttl": ttl, "size": len(message), "rtt_ms": rtt})
	}
}

// readErrors drains the raw ICMP endpoint and words the errors that quote one
// of our echo requests (identifier ident) like iputils.
func readErrors(raw tcpip.Endpoint, v4 bool, ident int) []string {
	problems := []string{}
	for {
		var data bytes.Buffer
		res, err := raw.Read(&data, tcpip.ReadOptions{NeedRemoteAddr: true})
		if err != nil {
			return problems
		}
		message := data.Bytes()
		var text string
		if v4 {
			if len(message) < header.IPv4MinimumSize {
				continue
			}
			message = message[header.IPv4(message).HeaderLength():]
			text = icmpv4Error(message, ident)
		} else {
			text = icmpv6Error(message, ident)
		}
		if text != "" {
			problems = append(problems, fmt.Sprintf("from %s: %s", textOf(res.RemoteAddr.Addr), text))
		}
	}
}

// quotesOurs tells whether an ICMP error quotes an echo request of ours.
func quotesOurs(quoted []byte, echoType byte, ident int) bool {
	return len(quoted) >= 8 && quoted[0] == echoType && int(binary.BigEndian.Uint16(quoted[4:])) == ident
}

// icmpv4Error is iputils' wording of an ICMPv4 error about our request, or "".
func icmpv4Error(m []byte, ident int) string {
	if len(m) < 8+header.IPv4MinimumSize {
		return ""
	}
	quoted := header.IPv4(m[8:])
	if quoted.Protocol() != uint8(header.ICMPv4ProtocolNumber) || len(m) < 8+int(quoted.HeaderLength())+8 ||
		!quotesOurs(m[8+int(quoted.HeaderLength()):], byte(header.ICMPv4Echo), ident) {
		return ""
	}
	code := m[1]
	switch header.ICMPv4Type(m[0]) {
	case header.ICMPv4DstUnreachable:
		names := []string{"Destination Net Unreachable", "Destination Host Unreachable",
			"Destination Protocol Unreachable", "Destination Port Unreachable", "",
			"Source Route Failed", "Destination Net Unknown", "Destination Host Unknown",
			"Source Host Isolated", "Destination Net Prohibited", "Destination Host Prohibited",
			"Destination Net Unreachable for Type of Service",
			"Destination Host Unreachable for Type of Service", "Packet filtered",
			"Precedence Violation", "Precedence Cutoff"}
		if code == 4 {
			return fmt.Sprintf("Frag needed and DF set (mtu = %d)", binary.BigEndian.Uint16(m[6:]))
		}
		if int(code) < len(names) {
			return names[code]
		}
		return fmt.Sprintf("Dest Unreachable, Bad Code: %d", code)
	case header.ICMPv4SrcQuench:
		return "Source Quench"
	case header.ICMPv4Redirect:
		names := []string{"Redirect Network", "Redirect Host",
			"Redirect Type of Service and Network", "Redirect Type of Service and Host"}
		text := fmt.Sprintf("Redirect, Bad Code: %d", code)
		if int(code) < len(names) {
			text = names[code]
		}
		return fmt.Sprintf("%s(New nexthop: %s)", text, textOf(tcpip.Address(m[4:8])))
	case header.ICMPv4TimeExceeded:
		switch code {
		case 0:
			return "Time to live exceeded"
		case 1:
			return "Frag reassembly time exceeded"
		}
		return fmt.Sprintf("Time exceeded, Bad Code: %d", code)
	case header.ICMPv4ParamProblem:
		return fmt.Sprintf("Parameter problem: pointer = %d", m[4])
	}
	return ""
}

// icmpv6Error is iputils' wording of an ICMPv6 error about our request, or "".
func icmpv6Error(m []byte, ident int) string {
	if len(m) < 8+header.IPv6MinimumSize+8 {
		return ""
	}
	quoted := header.IPv6(m[8:])
	if quoted.NextHeader() != uint8(header.ICMPv6ProtocolNumber) ||
		!quotesOurs(m[8+header.IPv6MinimumSize:], byte(header.ICMPv6EchoRequest), ident) {
		return ""
	}
	code := m[1]
	switch header.ICMPv6Type(m[0]) {
	case header.ICMPv6DstUnreachable:
		names := []string{"No route", "Administratively prohibited",
			"Beyond scope of source address", "Address unreachable", "Port unreachable"}
		if int(code) < len(names) {
			return "Destination unreachable: " + names[code]
		}
		return fmt.Sprintf("Destination unreachable: Unknown code %d", code)
	case header.ICMPv6PacketTooBig:
		return fmt.Sprintf("Packet too big: mtu=%d", binary.BigEndian.Uint32(m[4:]))
	case header.ICMPv6TimeExceeded:
		switch code {
		case 0:
			return "Time exceeded: Hop limit"
		case 1:
			return "Time exceeded: Defragmentation failure"
		}
		return fmt.Sprintf("Time exceeded: code %d", code)
	case header.ICMPv6ParamProblem:
		names := []string{"Wrong header field ", "Unknown header ", "Unknown option "}
		text := fmt.Sprintf("code %d ", code)
		if int(code) < len(names) {
			text = names[code]
		}
		return fmt.Sprintf("Parameter problem: %sat %d", text, binary.BigEndian.Uint32(m[4:]))
	}
	return ""
}

// udpListener is a UDP endpoint bound to a port, read by udp_receive.
type udpListener struct {
	endpoint tcpip.Endpoint
	queue    *waiter.Queue
}

// udpSend sends one datagram from a fresh UDP endpoint (bound to source_port
// if given), as a program's sendto would.
func (sh *shim) udpSend(r *request) (result, error) {
	destination, protocol, err := parseAddress(r.Destination)
	if err != nil {
		return nil, err
	}
	payload, err := hex.DecodeString(r.Payload)
	if err != nil {
		return nil, invalid("payload is not hex")
	}
	var queue waiter.Queue
	endpoint, terr := sh.stack.NewEndpoint(udp.ProtocolNumber, protocol, &queue)
	if terr != nil {
		return nil, failed("UDP endpoint: %s", terr)
	}
	defer endpoint.Close()
	if r.SourcePort != nil {
		if terr := endpoint.Bind(tcpip.FullAddress{Port: uint16(*r.SourcePort)}); terr != nil {
			return nil, failed("binding port %d: %s", *r.SourcePort, terr)
		}
	}
	to := tcpip.FullAddress{Addr: destination, Port: uint16(r.Port)}
	if _, terr := endpoint.Write(bytes.NewReader(payload), tcpip.WriteOptions{To: &to}); terr != nil {
		return nil, failed("sending: %s", terr)
	}
	return nil, nil
}

// udpListen binds a UDP endpoint of the family to the port on every address.
func (sh *shim) udpListen(r *request) (result, error) {
	protocols, err := families(r.Family)
	if err != nil || r.Family == nil {
		return nil, invalid("udp_listen needs a family")
	}
	queue := &waiter.Queue{}
	endpoint, terr := sh.stack.NewEndpoint(udp.ProtocolNumber, protocols[0], queue)
	if terr != nil {
		return nil, failed("UDP endpoint: %s", terr)
	}
	if terr := endpoint.Bind(tcpip.FullAddress{Port: uint16(r.Port)}); terr != nil {
		endpoint.Close()
		return nil, failed("binding port %d: %s", r.Port, terr)
	}
	sh.nextHandle++
	sh.listeners[sh.nextHandle] = &udpListener{endpoint, queue}
	return result{"handle": sh.nextHandle}, nil
}

// udpReceive collects the datagrams that arrive within the timeout.
func (sh *shim) udpReceive(r *request) (result, error) {
	l, ok := sh.listeners[r.Handle]
	if !ok {
		return nil, invalid("no UDP listener %d", r.Handle)
	}
	ready, unregister := wakeup(l.queue)
	defer unregister()
	deadline := time.Now().Add(time.Duration(r.Timeout * float64(time.Second)))
	datagrams := []result{}
	for {
		for {
			var data bytes.Buffer
			res, err := l.endpoint.Read(&data, tcpip.ReadOptions{NeedRemoteAddr: true})
			if err != nil {
				break
			}
			datagrams = append(datagrams, result{"source": textOf(res.RemoteAddr.Addr),
				"port": res.RemoteAddr.Port, "data": hex.EncodeToString(data.Bytes())})
		}
		wait := time.Until(deadline)
		if wait <= 0 {
			return result{"datagrams": datagrams}, nil
		}
		select {
		case <-ready:
		case <-time.After(wait):
		}
	}
}

func (sh *shim) udpClose(r *request) (result, error) {
	l, ok := sh.listeners[r.Handle]
	if !ok {
		return nil, invalid("no UDP listener %d", r.Handle)
	}
	l.endpoint.Close()
	delete(sh.listeners, r.Handle)
	return nil, nil
}
