// Command gvisor-dut runs gVisor's netstack on the DUT's interfaces and
// serves the testbed stack control protocol (stacks/PROTOCOL.md) on a UNIX
// socket: gvisor-dut --control PATH IFACE... (or gvisor-dut --version).
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// version is set at build time (-X main.version=...) from the Debian package.
var version = "unknown"

// request holds the arguments of every operation; each op reads its own.
type request struct {
	Op           string            `json:"op"`
	Interface    *string           `json:"interface"`
	Up           *bool             `json:"up"`
	MTU          int               `json:"mtu"`
	Address      string            `json:"address"`
	Destination  string            `json:"destination"`
	Gateway      *string           `json:"gateway"`
	MAC          string            `json:"mac"`
	Family       *string           `json:"family"`
	Enabled      *bool             `json:"enabled"`
	Count        int               `json:"count"`
	Size         int               `json:"size"`
	TTL          *int              `json:"ttl"`
	DontFragment bool              `json:"dont_fragment"`
	Timeout      float64           `json:"timeout"`
	Interval     float64           `json:"interval"`
	Source       *string           `json:"source"`
	Port         int               `json:"port"`
	Payload      string            `json:"payload"`
	SourcePort   *int              `json:"source_port"`
	Handle       int               `json:"handle"`
	Name         string            `json:"name"`
	Value        interface{}       `json:"value"`
	Interfaces   []interfaceConfig `json:"interfaces"`
	Routes       []routeConfig     `json:"routes"`
	Forwarding   []string          `json:"forwarding"`
}

// interfaceConfig is one interface of the configure baseline.
type interfaceConfig struct {
	Name      string   `json:"name"`
	MAC       string   `json:"mac"`
	MTU       uint32   `json:"mtu"`
	Addresses []string `json:"addresses"`
	LinkLocal string   `json:"link_local"`
}

// routeConfig is one static route of the configure baseline.
type routeConfig struct {
	Destination string  `json:"destination"`
	Gateway     *string `json:"gateway"`
	Interface   *string `json:"interface"`
}

// refusal is an operation's failure with its protocol code.
type refusal struct{ code, message string }

func (r *refusal) Error() string { return r.message }

func unsupported(format string, a ...interface{}) error {
	return &refusal{"unsupported", fmt.Sprintf(format, a...)}
}

func invalid(format string, a ...interface{}) error {
	return &refusal{"invalid", fmt.Sprintf(format, a...)}
}

func failed(format string, a ...interface{}) error {
	return &refusal{"failed", fmt.Sprintf(format, a...)}
}

// result is an operation's answer fields.
type result map[string]interface{}

// operations maps each op of the protocol to its handler.
var operations = map[string]func(*shim, *request) (result, error){
	"hello":          (*shim).hello,
	"configure":      (*shim).configure,
	"reset":          (*shim).reset,
	"link_set":       (*shim).linkSet,
	"mtu_set":        (*shim).mtuSet,
	"addr_add":       (*shim).addrAdd,
	"addr_del":       (*shim).addrDel,
	"route_add":      (*shim).routeAdd,
	"route_del":      (*shim).routeDel,
	"neigh_list":     (*shim).neighList,
	"neigh_add":      (*shim).neighAdd,
	"neigh_flush":    (*shim).neighFlush,
	"forwarding_set": (*shim).forwardingSet,
	"echo":           (*shim).echo,
	"udp_send":       (*shim).udpSend,
	"udp_listen":     (*shim).udpListen,
	"udp_receive":    (*shim).udpReceive,
	"udp_close":      (*shim).udpClose,
	"knob_set":       (*shim).knobSet,
	"knob_get":       (*shim).knobGet,
}

// handle answers one request line.
func (sh *shim) handle(line []byte) result {
	var r request
	if err := json.Unmarshal(line, &r); err != nil {
		return result{"ok": false, "code": "invalid", "error": fmt.Sprintf("bad request: %v", err)}
	}
	op, ok := operations[r.Op]
	if !ok {
		return result{"ok": false, "code": "unsupported", "error": fmt.Sprintf("gvisor has no operation %q", r.Op)}
	}
	if sh.stack == nil && r.Op != "hello" && r.Op != "configure" {
		return result{"ok": false, "code": "failed", "error": "not configured yet"}
	}
	answer, err := op(sh, &r)
	if err != nil {
		code := "failed"
		var refused *refusal
		if errors.As(err, &refused) {
			code = refused.code
		}
		return result{"ok": false, "code": code, "error": err.Error()}
	}
	if answer == nil {
		answer = result{}
	}
	answer["ok"] = true
	return answer
}

// serve accepts one client at a time on the UNIX socket and answers its requests.
func (sh *shim) serve(path string) error {
	os.Remove(path)
	listener, err := net.Listen("unix", path)
	if err != nil {
		return err
	}
	for {
		connection, err := listener.Accept()
		if err != nil {
			return err
		}
		lines := bufio.NewScanner(connection)
		lines.Buffer(make([]byte, 1<<20), 1<<24)
		encoder := json.NewEncoder(connection)
		for lines.Scan() {
			if err := encoder.Encode(sh.handle(lines.Bytes())); err != nil {
				break
			}
		}
		connection.Close()
	}
}

func (sh *shim) hello(*request) (result, error) {
	return result{"stack": "gvisor", "version": fmt.Sprintf("gVisor netstack %s, %s", version, runtime.Version())}, nil
}

func main() {
	control := flag.String("control", "", "UNIX socket to serve the control protocol on")
	showVersion := flag.Bool("version", false, "print the netstack version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Printf("gVisor netstack %s, %s\n", version, runtime.Version())
		return
	}
	if *control == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: gvisor-dut --control PATH IFACE...")
		os.Exit(2)
	}
	unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0)
	terminate := make(chan os.Signal, 1)
	signal.Notify(terminate, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-terminate
		os.Exit(0)
	}()
	sh := &shim{names: flag.Args(), listeners: map[int]*udpListener{}}
	if err := sh.serve(*control); err != nil {
		fmt.Fprintln(os.Stderr, "gvisor-dut:", err)
		os.Exit(1)
	}
}
