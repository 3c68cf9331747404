package main

import (
	"fmt"
	"net"
	"sync"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/link/fdbased"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// Classic BPF ancillary load of the packet type (linux/filter.h).
const (
	skfAdOff     = 0xfffff000 // SKF_AD_OFF, -0x1000
	skfAdPktType = 4          // SKF_AD_PKTTYPE
)

// openPacketSocket opens a raw AF_PACKET socket on the interface that, like a
// NIC's address filter, drops frames unicast to other MACs (PACKET_OTHERHOST)
// and never reads back its own outgoing frames.  The filter is attached before
// the socket is bound, so no unfiltered frame is ever queued.
func openPacketSocket(name string) (int, error) {
	iface, err := net.InterfaceByName(name)
	if err != nil {
		return -1, err
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("AF_PACKET socket: %v", err)
	}
	filter := []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: skfAdOff + skfAdPktType},
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 1, K: unix.PACKET_OTHERHOST},
		{Code: unix.BPF_RET | unix.BPF_K, K: 0},
		{Code: unix.BPF_RET | unix.BPF_K, K: 0xffffffff},
	}
	program := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &program); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("%s: attaching the MAC filter: %v", name, err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("%s: PACKET_IGNORE_OUTGOING: %v", name, err)
	}
	all := uint16(unix.ETH_P_ALL)
	address := unix.SockaddrLinklayer{Protocol: all<<8 | all>>8, Ifindex: iface.Index}
	if err := unix.Bind(fd, &address); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("%s: bind: %v", name, err)
	}
	return fd, nil
}

// wire is one interface's fdbased endpoint, created once per process.  Every
// stack built by configure or reset attaches to it through a fresh nicLink;
// received frames go to whichever stack is attached now, and after each one
// the stack's settle function (if any) runs, before the next frame is read.
type wire struct {
	endpoint stack.LinkEndpoint
	mu       sync.RWMutex
	target   stack.NetworkDispatcher
	settle   func()
}

// newWire opens the interface and starts reading frames from it.
func newWire(name string, mac tcpip.LinkAddress, mtu uint32) (*wire, error) {
	fd, err := openPacketSocket(name)
	if err != nil {
		return nil, err
	}
	endpoint, err := fdbased.New(&fdbased.Options{
		FDs: []int{fd}, MTU: mtu, EthernetHeader: true, Address: mac,
		PacketDispatchMode: fdbased.RecvMMsg,
	})
	if err != nil {
		return nil, fmt.Errorf("%s: fdbased endpoint: %v", name, err)
	}
	w := &wire{endpoint: endpoint}
	endpoint.Attach(w)
	return w, nil
}

// DeliverNetworkPacket implements stack.NetworkDispatcher: hand the frame to
// the attached stack, if any, then let it settle.
func (w *wire) DeliverNetworkPacket(protocol tcpip.NetworkProtocolNumber, pkt stack.PacketBufferPtr) {
	w.mu.RLock()
	target, settle := w.target, w.settle
	w.mu.RUnlock()
	if target != nil {
		target.DeliverNetworkPacket(protocol, pkt)
		if settle != nil {
			settle()
		}
	}
}

// DeliverLinkPacket implements stack.NetworkDispatcher.
func (w *wire) DeliverLinkPacket(protocol tcpip.NetworkProtocolNumber, pkt stack.PacketBufferPtr, incoming bool) {
	w.mu.RLock()
	target := w.target
	w.mu.RUnlock()
	if target != nil {
		target.DeliverLinkPacket(protocol, pkt, incoming)
	}
}

// nicLink is the link endpoint one stack's NIC sees: the wire's endpoint,
// except that attaching it redirects the wire (with settle, run after each
// frame the stack receives), and once its stack detaches it (on reset), late
// timers of that stack can no longer send.
type nicLink struct {
	stack.LinkEndpoint
	wire     *wire
	settle   func()
	mu       sync.RWMutex
	attached bool
}

// Attach implements stack.LinkEndpoint.
func (l *nicLink) Attach(dispatcher stack.NetworkDispatcher) {
	l.mu.Lock()
	l.attached = dispatcher != nil
	l.mu.Unlock()
	l.wire.mu.Lock()
	l.wire.target, l.wire.settle = dispatcher, l.settle
	l.wire.mu.Unlock()
}

// IsAttached implements stack.LinkEndpoint.
func (l *nicLink) IsAttached() bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.attached
}

// Wait implements stack.LinkEndpoint: the wire outlives every stack.
func (l *nicLink) Wait() {}

// WritePackets implements stack.LinkEndpoint; a detached link drops them.
func (l *nicLink) WritePackets(pkts stack.PacketBufferList) (int, tcpip.Error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if !l.attached {
		return pkts.Len(), nil
	}
	return l.LinkEndpoint.WritePackets(pkts)
}
