/*
 * rump-dut: the testbed shim for a NetBSD rump kernel (buildrump.sh 6cccd46,
 * src-netbsd 82f3a69: NetBSD 7.99.34).
 *
 *     rump-dut --control PATH IFNAME...
 *     rump-dut --version
 *
 * The rump kernel (librump, librumpnet, librumpnet_net, _netinet, _netinet6
 * and _virtif) runs inside this process.  Each DUT interface becomes a
 * NetBSD virtif interface, virtN, whose host side is not the TAP device of
 * librumpnet_virtif's virtif_user.c but an AF_PACKET socket on the DUT
 * interface: this file defines the four virtif hypercalls
 * (rumpcomp_virt_create/_send/_dying/_destroy), and the dynamic linker binds
 * librumpnet_virtif's calls to them instead of its own (they are called
 * through its PLT).  So the tester sees exactly the frames NetBSD sends, and
 * NetBSD sees every frame the DUT interface receives except unicast to
 * other MACs and the socket's own.
 *
 * The main thread serves the JSON-lines control protocol of
 * stacks/PROTOCOL.md on the UNIX socket PATH and drives the kernel through
 * its system calls (rump_sys_*): interface ioctls, the routing socket, the
 * sysctl tree, raw and UDP sockets.  Those speak the NetBSD ABI, not
 * Linux's: the structures below are NetBSD's, checked at compile time
 * against bin/netbsd-abi.h, which ./build generates from the NetBSD headers
 * of the kernel it built (netbsd-abi.c).  errno after a rump_sys_* call is
 * a NetBSD errno (rump_errno2host translates it).
 *
 * A panic of the rump kernel calls rumpuser_exit(RUMPUSER_PANIC), which
 * aborts the process: testbed sees the process die (a crash verdict).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <rump/rump.h>
#include <rump/rump_syscalls.h>
#include <rump/rumpuser_component.h>
#include <rump/rumperrno2host.h>

#include "netbsd-abi.h"

#define MAX_IFS 8
#define MAX_LISTENERS 32
#define MAX_ADDRS 16
#define MAX_ROUTES 32
#define FRAME_MAX 65536
#define REVISIONS "buildrump.sh 6cccd46, src-netbsd 82f3a69"
#define SRC_REV "82f3a69"

/* ------------------------------------------------------------------------
 * NetBSD's structures, as the rump kernel reads them.
 */

struct nb_sockaddr {
  uint8_t len, family;
  char data[14];
};

struct nb_sockaddr_in {
  uint8_t len, family;
  uint16_t port;
  uint32_t addr;
  uint8_t zero[8];
};

struct nb_sockaddr_in6 {
  uint8_t len, family;
  uint16_t port;
  uint32_t flowinfo;
  uint8_t addr[16];
  uint32_t scope_id;
};

struct nb_sockaddr_dl {
  uint8_t len, family;
  uint16_t index;
  uint8_t type, nlen, alen, slen;
  uint8_t data[12];
};

union nb_sockaddr_any {
  struct nb_sockaddr sa;
  struct nb_sockaddr_in in;
  struct nb_sockaddr_in6 in6;
  struct nb_sockaddr_dl dl;
  uint8_t bytes[128];
};

struct nb_ifreq {
  char name[16];
  union {
    struct nb_sockaddr addr;
    short flags;
    int mtu;
    unsigned value;
    uint8_t space[128];
    uint64_t align;
  } u;
};

struct nb_in_aliasreq {
  char name[16];
  struct nb_sockaddr_in addr, broadaddr, mask;
};

struct nb_in6_addrlifetime {
  int64_t expire, preferred;
  uint32_t vltime, pltime;
};

struct nb_in6_aliasreq {
  char name[16];
  struct nb_sockaddr_in6 addr, dstaddr, prefixmask;
  int flags;
  struct nb_in6_addrlifetime lifetime;
};

struct nb_in6_ifreq {
  char name[16];
  union {
    struct nb_sockaddr_in6 addr;
    int flags6;
    uint8_t space[NB_SIZEOF_in6_ifreq - 16];
    uint64_t align;
  } u;
};

struct nb_nd_ifinfo {
  uint32_t linkmtu, maxmtu, basereachable, reachable, retrans, flags;
  int recalctm;
  uint8_t chlim, initialized, randomseed0[8], randomseed1[8], randomid[8];
};

struct nb_in6_ndireq {
  char name[16];
  struct nb_nd_ifinfo ndi;
};

struct nb_in6_nbrinfo {
  char name[16];
  uint8_t addr[16];
  long asked;
  int isrouter, state, expire;
};

struct nb_rt_metrics {
  uint64_t locks, mtu, hopcount, recvpipe, sendpipe, ssthresh, rtt, rttvar;
  int64_t expire, pksent;
};

struct nb_rt_msghdr {
  uint16_t msglen __attribute__((aligned(8)));
  uint8_t version, type;
  uint16_t index;
  int flags, addrs, pid, seq, errno_, use, inits;
  struct nb_rt_metrics rmx __attribute__((aligned(8)));
};

struct nb_ifa_msghdr {
  uint16_t msglen __attribute__((aligned(8)));
  uint8_t version, type;
  int addrs, flags, metric;
  uint16_t index;
};

struct nb_sysctlnode {
  uint32_t flags;
  int32_t num;
  char name[NB_SYSCTL_NAMELEN];
  uint8_t rest[NB_SIZEOF_sysctlnode - 8 - NB_SYSCTL_NAMELEN];
} __attribute__((aligned(8)));

struct nb_msghdr {
  void *name;
  uint32_t namelen;
  struct iovec *iov;
  int iovlen;
  void *control;
  uint32_t controllen;
  int flags;
};

struct nb_cmsghdr {
  uint32_t len;
  int level, type;
};

#define CHECK_SIZE(s) _Static_assert(sizeof(struct nb_##s) == NB_SIZEOF_##s, "NetBSD " #s)
#define CHECK_OFF(s, f, g) \
  _Static_assert(__builtin_offsetof(struct nb_##s, g) == NB_OFF_##s##_##f, "NetBSD " #s "." #f)
CHECK_SIZE(sockaddr);
CHECK_SIZE(sockaddr_in);
CHECK_SIZE(sockaddr_in6);
CHECK_SIZE(sockaddr_dl);
CHECK_OFF(sockaddr_in6, sin6_addr, addr);
CHECK_OFF(sockaddr_in6, sin6_scope_id, scope_id);
CHECK_OFF(sockaddr_dl, sdl_index, index);
CHECK_OFF(sockaddr_dl, sdl_addr, type);
CHECK_SIZE(ifreq);
CHECK_OFF(ifreq, ifr_ifru, u);
CHECK_SIZE(in_aliasreq);
CHECK_OFF(in_aliasreq, ifra_addr, addr);
CHECK_OFF(in_aliasreq, ifra_dstaddr, broadaddr);
CHECK_OFF(in_aliasreq, ifra_mask, mask);
CHECK_SIZE(in6_aliasreq);
CHECK_OFF(in6_aliasreq, ifra_addr, addr);
CHECK_OFF(in6_aliasreq, ifra_prefixmask, prefixmask);
CHECK_OFF(in6_aliasreq, ifra_flags, flags);
CHECK_OFF(in6_aliasreq, ifra_lifetime, lifetime);
CHECK_SIZE(in6_addrlifetime);
CHECK_OFF(in6_addrlifetime, ia6t_vltime, vltime);
CHECK_OFF(in6_addrlifetime, ia6t_pltime, pltime);
CHECK_SIZE(in6_ifreq);
CHECK_OFF(in6_ifreq, ifr_ifru, u);
CHECK_SIZE(nd_ifinfo);
CHECK_OFF(nd_ifinfo, linkmtu, linkmtu);
CHECK_OFF(nd_ifinfo, basereachable, basereachable);
CHECK_OFF(nd_ifinfo, reachable, reachable);
CHECK_OFF(nd_ifinfo, retrans, retrans);
CHECK_OFF(nd_ifinfo, flags, flags);
CHECK_OFF(nd_ifinfo, chlim, chlim);
CHECK_SIZE(in6_ndireq);
CHECK_OFF(in6_ndireq, ndi, ndi);
CHECK_SIZE(in6_nbrinfo);
CHECK_OFF(in6_nbrinfo, addr, addr);
CHECK_OFF(in6_nbrinfo, asked, asked);
CHECK_OFF(in6_nbrinfo, isrouter, isrouter);
CHECK_OFF(in6_nbrinfo, state, state);
CHECK_OFF(in6_nbrinfo, expire, expire);
CHECK_SIZE(rt_metrics);
CHECK_OFF(rt_metrics, rmx_expire, expire);
CHECK_SIZE(rt_msghdr);
CHECK_OFF(rt_msghdr, rtm_msglen, msglen);
CHECK_OFF(rt_msghdr, rtm_version, version);
CHECK_OFF(rt_msghdr, rtm_type, type);
CHECK_OFF(rt_msghdr, rtm_index, index);
CHECK_OFF(rt_msghdr, rtm_flags, flags);
CHECK_OFF(rt_msghdr, rtm_addrs, addrs);
CHECK_OFF(rt_msghdr, rtm_pid, pid);
CHECK_OFF(rt_msghdr, rtm_seq, seq);
CHECK_OFF(rt_msghdr, rtm_errno, errno_);
CHECK_OFF(rt_msghdr, rtm_inits, inits);
CHECK_OFF(rt_msghdr, rtm_rmx, rmx);
CHECK_SIZE(ifa_msghdr);
CHECK_OFF(ifa_msghdr, ifam_addrs, addrs);
CHECK_OFF(ifa_msghdr, ifam_flags, flags);
CHECK_OFF(ifa_msghdr, ifam_index, index);
CHECK_SIZE(sysctlnode);
CHECK_OFF(sysctlnode, sysctl_flags, flags);
CHECK_OFF(sysctlnode, sysctl_num, num);
CHECK_OFF(sysctlnode, sysctl_name, name);
CHECK_SIZE(msghdr);
CHECK_OFF(msghdr, msg_name, name);
CHECK_OFF(msghdr, msg_namelen, namelen);
CHECK_OFF(msghdr, msg_iov, iov);
CHECK_OFF(msghdr, msg_iovlen, iovlen);
CHECK_OFF(msghdr, msg_control, control);
CHECK_OFF(msghdr, msg_controllen, controllen);
CHECK_OFF(msghdr, msg_flags, flags);
CHECK_SIZE(cmsghdr);
_Static_assert(NB_IFNAMSIZ == 16, "NetBSD IFNAMSIZ");
_Static_assert(NB_RT_ROUNDUP_TO == 8, "NetBSD RT_ROUNDUP");

/* NetBSD ioctl numbers are 32 bits; rump_sys_ioctl takes an unsigned long. */
#define NB_IOCTL(x) ((unsigned long)(uint32_t)(x))

#include "../common/shim.h"

/* ------------------------------------------------------------------------
 * Addresses as the protocol writes them.
 */

struct addr {
  int v6;                         /* 0: IPv4, 1: IPv6 */
  uint8_t b[16];                  /* network order; IPv4 in b[0..3] */
  int plen;                       /* -1 when none was given */
};

/* Parse "addr" or "addr/len" (when want_plen, the length is required). */
static int parse_addr(const char *text, struct addr *a, int want_plen)
{
  char copy[80];
  snprintf(copy, sizeof copy, "%s", text);
  char *slash = strchr(copy, '/');
  if (slash)
    *slash++ = 0;
  memset(a, 0, sizeof *a);
  a->plen = -1;
  if (inet_pton(AF_INET, copy, a->b) == 1)
    a->v6 = 0;
  else if (inet_pton(AF_INET6, copy, a->b) == 1)
    a->v6 = 1;
  else
    return fail("invalid", "not an address: %s", text);
  if ((slash != NULL) != (want_plen != 0))
    return fail("invalid", "%s: %s", want_plen ? "a prefix length is needed" : "no prefix length expected", text);
  if (slash) {
    char *end;
    long n = strtol(slash, &end, 10);
    if (*end || end == slash || n < 0 || n > (a->v6 ? 128 : 32))
      return fail("invalid", "bad prefix length: %s", text);
    a->plen = (int)n;
  }
  return 0;
}

static const char *addr_text(const struct addr *a, char *buf, size_t size)
{
  return inet_ntop(a->v6 ? AF_INET6 : AF_INET, a->b, buf, (socklen_t)size);
}

static int addr_eq(const struct addr *a, const struct addr *b)
{
  return a->v6 == b->v6 && !memcmp(a->b, b->b, a->v6 ? 16 : 4);
}

static int is_linklocal6(const uint8_t *b)
{
  return b[0] == 0xfe && (b[1] & 0xc0) == 0x80;
}

static int is_scoped6(const uint8_t *b)
{
  return is_linklocal6(b) || (b[0] == 0xff && (b[1] & 0x0f) <= 2);
}

/* KAME's in-kernel form of a scoped IPv6 address carries the interface
 * index in bytes 2-3; routing messages show it and want it. */
static void scope_clear(uint8_t *b)
{
  if (is_scoped6(b))
    b[2] = b[3] = 0;
}

static void scope_embed(uint8_t *b, unsigned index)
{
  if (is_scoped6(b)) {
    b[2] = (uint8_t)(index >> 8);
    b[3] = (uint8_t)index;
  }
}

static void mask_bytes(int plen, int v6, uint8_t *out)
{
  memset(out, 0, 16);
  for (int i = 0; i < (v6 ? 128 : 32); i++)
    if (i < plen)
      out[i / 8] |= (uint8_t)(0x80 >> (i % 8));
}

static void sin_set(struct nb_sockaddr_in *s, const uint8_t *b)
{
  memset(s, 0, sizeof *s);
  s->len = sizeof *s;
  s->family = NB_AF_INET;
  memcpy(&s->addr, b, 4);
}

static void sin6_set(struct nb_sockaddr_in6 *s, const uint8_t *b, unsigned scope_id)
{
  memset(s, 0, sizeof *s);
  s->len = sizeof *s;
  s->family = NB_AF_INET6;
  memcpy(s->addr, b, 16);
  s->scope_id = scope_id;
}

/* The sockaddr of a (port in host order), in *any; its length. */
static unsigned sockaddr_of(const struct addr *a, uint16_t port, unsigned scope_id,
                            union nb_sockaddr_any *any)
{
  memset(any, 0, sizeof *any);
  if (a->v6) {
    sin6_set(&any->in6, a->b, scope_id);
    any->in6.port = htons(port);
    return sizeof any->in6;
  }
  sin_set(&any->in, a->b);
  any->in.port = htons(port);
  return sizeof any->in;
}

/* A sockaddr's address into *a (IPv6 scope cleared); 0, or -1 if neither family. */
static int addr_of_sockaddr(const struct nb_sockaddr *sa, struct addr *a)
{
  memset(a, 0, sizeof *a);
  a->plen = -1;
  if (sa->family == NB_AF_INET) {
    memcpy(a->b, &((const struct nb_sockaddr_in *)sa)->addr, 4);
    return 0;
  }
  if (sa->family == NB_AF_INET6) {
    a->v6 = 1;
    memcpy(a->b, ((const struct nb_sockaddr_in6 *)sa)->addr, 16);
    scope_clear(a->b);
    return 0;
  }
  return -1;
}

/* The prefix length of a routing-message netmask (possibly shortened:
 * its sa_len covers only the bytes up to the last non-zero one). */
static int mask_plen(const struct nb_sockaddr *sa, int v6)
{
  if (!sa)
    return v6 ? 128 : 32;
  const uint8_t *p = (const uint8_t *)sa + (v6 ? 8 : 4);
  int avail = sa->len - (v6 ? 8 : 4), n = 0;
  for (int i = 0; i < (v6 ? 16 : 4) && i < avail; i++)
    n += __builtin_popcount(p[i]);
  return n;
}

/* ------------------------------------------------------------------------
 * Interfaces: a NetBSD virtif on an AF_PACKET socket.
 */

struct iface {
  char name[IFNAMSIZ];            /* the DUT interface, e.g. eth0 */
  char rname[16];                 /* NetBSD's name, virtN */
  int fd;                         /* AF_PACKET socket bound to the interface */
  unsigned index;                 /* NetBSD's interface index */
  int seen;                       /* described by configure */
  uint8_t mac[6];
  int mtu;
  struct addr base[MAX_ADDRS];    /* baseline addresses, link-local first */
  int nbase;
  void *sc;                       /* the kernel's struct virtif_sc */
  pthread_t rx;
  struct nb_nd_ifinfo nd_base;    /* ND settings at configure */
  int srcrt;                      /* net.ipv4.conf.IFACE.accept_source_route */
};

static struct iface ifs[MAX_IFS];
static int debug;                 /* RUMP_DUT_DEBUG set */
static int nifs;
static int configured;

struct route {
  struct addr dest;
  struct addr gw;
  int has_gw;
  struct iface *via;              /* NULL: the stack chooses */
};

static struct route base_routes[MAX_ROUTES];
static int nbase_routes;
static int base_forwarding[2];

static struct iface *iface_named(const char *name)
{
  for (int i = 0; i < nifs; i++)
    if (!strcmp(ifs[i].name, name))
      return &ifs[i];
  return NULL;
}

static struct iface *iface_by_index(unsigned index)
{
  for (int i = 0; i < nifs; i++)
    if (ifs[i].index == index)
      return &ifs[i];
  return NULL;
}

static int arg_iface(const struct jv *req, struct iface **out, int required)
{
  const char *name;
  int rc = arg_str(req, "interface", &name, required);
  if (rc)
    return rc;
  if (!(*out = iface_named(name)))
    return fail("invalid", "no interface %s", name);
  return 0;
}

/* Fail with what a rump system call said (errno is NetBSD's). */
static int sysfail(const char *fmt, ...)
{
  char what[256];
  int e = rump_errno2host(errno);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return fail("failed", "%s: %s", what, strerror(e));
}

/* The virtif hypercalls, in place of librumpnet_virtif's virtif_user.c.
 * They run in kernel context; each leaves it while it blocks on the host. */

struct virtif_sc;
struct virtif_user;
void rump_virtif_virt_deliverpkt(struct virtif_sc *, struct iovec *, size_t);
int rumpcomp_virt_create(const char *, struct virtif_sc *, uint8_t *, struct virtif_user **);
void rumpcomp_virt_send(struct virtif_user *, struct iovec *, size_t);
int rumpcomp_virt_dying(struct virtif_user *);
void rumpcomp_virt_destroy(struct virtif_user *);

/* The receive thread of one interface: frames into the kernel, filtered
 * like a NIC (virtif drops unicast to other MACs itself, and everything
 * while the interface is down). */
static void *rx_loop(void *arg)
{
  struct iface *ifc = arg;
  static __thread uint8_t frame[FRAME_MAX];
  rumpuser_component_kthread();
  for (;;) {
    struct sockaddr_ll from;
    socklen_t fromlen = sizeof from;
    ssize_t n = recvfrom(ifc->fd, frame, sizeof frame, 0, (struct sockaddr *)&from, &fromlen);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      fprintf(stderr, "rump-dut: %s: receive: %s\n", ifc->name, strerror(errno));
      sleep(1);
      continue;
    }
    if (n < 14 || from.sll_pkttype == PACKET_OTHERHOST || from.sll_pkttype == PACKET_OUTGOING)
      continue;
    struct iovec iov = {.iov_base = frame, .iov_len = (size_t)n};
    rumpuser_component_schedule(NULL);
    rump_virtif_virt_deliverpkt(ifc->sc, &iov, 1);
    rumpuser_component_unschedule();
  }
  return NULL;
}

/* virtN is created: N is our interface number; give it the topology's MAC. */
int rumpcomp_virt_create(const char *devstr, struct virtif_sc *sc, uint8_t *enaddr,
                         struct virtif_user **viup)
{
  void *cookie = rumpuser_component_unschedule();
  int n = atoi(devstr), rv = 0;
  if (n < 0 || n >= nifs) {
    fprintf(stderr, "rump-dut: no interface for virt%d\n", n);
    rv = ENXIO;
  } else {
    struct iface *ifc = &ifs[n];
    uint8_t junk[256];
    memcpy(enaddr, ifc->mac, 6);
    ifc->sc = sc;
    while (recv(ifc->fd, junk, sizeof junk, MSG_DONTWAIT) >= 0)
      ;   /* what arrived before the interface existed */
    rv = pthread_create(&ifc->rx, NULL, rx_loop, ifc);
    *viup = (struct virtif_user *)ifc;
  }
  rumpuser_component_schedule(cookie);
  return rv ? rumpuser_component_errtrans(rv) : 0;
}

void rumpcomp_virt_send(struct virtif_user *viu, struct iovec *iov, size_t iovlen)
{
  struct iface *ifc = (struct iface *)viu;
  void *cookie = rumpuser_component_unschedule();
  struct msghdr m = {.msg_iov = iov, .msg_iovlen = iovlen};
  if (sendmsg(ifc->fd, &m, 0) < 0)
    fprintf(stderr, "rump-dut: %s: send: %s\n", ifc->name, strerror(errno));
  rumpuser_component_schedule(cookie);
}

int rumpcomp_virt_dying(struct virtif_user *viu)
{
  (void)viu;
  return 16;   /* NetBSD's EBUSY: the shim never destroys an interface */
}

void rumpcomp_virt_destroy(struct virtif_user *viu)
{
  (void)viu;
}

/* Open the AF_PACKET socket of ifc: it hears nothing until bound, then
 * only its interface, and not its own outgoing frames. */
static int iface_open(struct iface *ifc)
{
  int one = 1, big = 4 << 20;
  struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL)};
  sll.sll_ifindex = (int)if_nametoindex(ifc->name);
  ifc->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (!sll.sll_ifindex || ifc->fd < 0 ||
      setsockopt(ifc->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) < 0 ||
      bind(ifc->fd, (struct sockaddr *)&sll, sizeof sll) < 0) {
    fprintf(stderr, "rump-dut: %s: %s\n", ifc->name, strerror(errno ? errno : ENODEV));
    return -1;
  }
  setsockopt(ifc->fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  return 0;
}

/* Sockets for the interface ioctls. */
static int sock4 = -1, sock6 = -1;

static int ifreq_ioctl(struct iface *ifc, unsigned long cmd, struct nb_ifreq *ifr)
{
  snprintf(ifr->name, sizeof ifr->name, "%s", ifc->rname);
  return rump_sys_ioctl(sock4, NB_IOCTL(cmd), ifr);
}

static int iface_set_up(struct iface *ifc, int up)
{
  struct nb_ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  if (ifreq_ioctl(ifc, NB_SIOCGIFFLAGS, &ifr) < 0)
    return sysfail("SIOCGIFFLAGS %s", ifc->rname);
  int want = up ? (ifr.u.flags | NB_IFF_UP) : (ifr.u.flags & ~NB_IFF_UP);
  if (want == ifr.u.flags)
    return 0;
  ifr.u.flags = (short)want;
  if (ifreq_ioctl(ifc, NB_SIOCSIFFLAGS, &ifr) < 0)
    return sysfail("%s %s", up ? "up" : "down", ifc->rname);
  return 0;
}

static int iface_set_mtu(struct iface *ifc, int mtu)
{
  struct nb_ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  if (ifreq_ioctl(ifc, NB_SIOCGIFMTU, &ifr) == 0 && ifr.u.mtu == mtu)
    return 0;
  memset(&ifr, 0, sizeof ifr);
  ifr.u.mtu = mtu;
  if (ifreq_ioctl(ifc, NB_SIOCSIFMTU, &ifr) < 0) {
    if (errno == 22)   /* EINVAL: ether_ioctl takes 68..1500 without jumbo support */
      return fail("unsupported", "NetBSD's virtif takes MTUs of 68 to 1500 only (no "
                  "ETHERCAP_JUMBO_MTU): %d", mtu);
    return sysfail("MTU %d on %s", mtu, ifc->rname);
  }
  return 0;
}

static int nd_info(struct iface *ifc, struct nb_in6_ndireq *nd, int set)
{
  snprintf(nd->name, sizeof nd->name, "%s", ifc->rname);
  if (set)
    nd->ndi.linkmtu = 0;   /* unchanged: SIOCSIFINFO_IN6 refuses one above the current */
  return rump_sys_ioctl(sock6, NB_IOCTL(set ? NB_SIOCSIFINFO_IN6 : NB_SIOCGIFINFO_IN6), nd);
}

static int addr_add(struct iface *ifc, const struct addr *a)
{
  char text[INET6_ADDRSTRLEN];
  if (!a->v6) {
    struct nb_in_aliasreq r;
    uint8_t mask[16], brd[4];
    memset(&r, 0, sizeof r);
    snprintf(r.name, sizeof r.name, "%s", ifc->rname);
    mask_bytes(a->plen, 0, mask);
    for (int i = 0; i < 4; i++)
      brd[i] = a->b[i] | (uint8_t)~mask[i];
    sin_set(&r.addr, a->b);
    sin_set(&r.mask, mask);
    if (a->plen < 31)
      sin_set(&r.broadaddr, brd);
    if (rump_sys_ioctl(sock4, NB_IOCTL(NB_SIOCAIFADDR), &r) < 0)
      return sysfail("adding %s/%d to %s", addr_text(a, text, sizeof text), a->plen, ifc->name);
    return 0;
  }
  struct nb_in6_aliasreq r;
  uint8_t mask[16];
  memset(&r, 0, sizeof r);
  snprintf(r.name, sizeof r.name, "%s", ifc->rname);
  mask_bytes(a->plen, 1, mask);
  sin6_set(&r.addr, a->b, 0);      /* a link-local one gets ifc's zone */
  sin6_set(&r.prefixmask, mask, 0);
  /* No IN6_IFF_NODAD: NetBSD 7.99 refuses it from userland.  The baseline's
   * net.inet6.ip6.dad_count=0 (and net.inet.ip.dad_count=0: NetBSD probes
   * IPv4 addresses too) make every address usable at once instead, as the
   * Linux adapter's "nodad". */
  r.lifetime.vltime = r.lifetime.pltime = 0xffffffffu;   /* ND6_INFINITE_LIFETIME */
  if (rump_sys_ioctl(sock6, NB_IOCTL(NB_SIOCAIFADDR_IN6), &r) < 0)
    return sysfail("adding %s/%d to %s", addr_text(a, text, sizeof text), a->plen, ifc->name);
  return 0;
}

static int addr_del(struct iface *ifc, const struct addr *a)
{
  char text[INET6_ADDRSTRLEN];
  if (!a->v6) {
    struct nb_ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    sin_set((struct nb_sockaddr_in *)&ifr.u.addr, a->b);
    if (ifreq_ioctl(ifc, NB_SIOCDIFADDR, &ifr) < 0)
      return sysfail("removing %s from %s", addr_text(a, text, sizeof text), ifc->name);
    return 0;
  }
  struct nb_in6_ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  snprintf(ifr.name, sizeof ifr.name, "%s", ifc->rname);
  sin6_set(&ifr.u.addr, a->b, 0);
  if (rump_sys_ioctl(sock6, NB_IOCTL(NB_SIOCDIFADDR_IN6), &ifr) < 0)
    return sysfail("removing %s from %s", addr_text(a, text, sizeof text), ifc->name);
  return 0;
}

/* ------------------------------------------------------------------------
 * sysctl: names to MIBs through CTL_QUERY, as NetBSD's sysctlnametomib.
 */

struct mib {
  int name[NB_CTL_MAXNAME];
  unsigned len;
  int type;                       /* CTLTYPE_* */
};

static int mib_lookup(const char *dotted, struct mib *m)
{
  char copy[256];
  snprintf(copy, sizeof copy, "%s", dotted);
  m->len = 0;
  m->type = NB_CTLTYPE_NODE;
  for (char *part = strtok(copy, "."); part; part = strtok(NULL, ".")) {
    if (m->type != NB_CTLTYPE_NODE || m->len + 1 >= NB_CTL_MAXNAME)
      return -1;
    static struct nb_sysctlnode kids[512];
    struct nb_sysctlnode query;
    size_t size = sizeof kids;
    int q[NB_CTL_MAXNAME];
    memcpy(q, m->name, m->len * sizeof *q);
    q[m->len] = NB_CTL_QUERY;
    memset(&query, 0, sizeof query);
    query.flags = NB_SYSCTL_VERSION;
    if (rump_sys___sysctl(q, m->len + 1, kids, &size, &query, sizeof query) < 0)
      return -1;
    size_t n = size / sizeof *kids, i;
    for (i = 0; i < n && strcmp(kids[i].name, part); i++)
      ;
    if (i == n)
      return -1;
    m->name[m->len++] = kids[i].num;
    m->type = (int)(kids[i].flags & NB_SYSCTL_TYPEMASK);
  }
  return m->len ? 0 : -1;
}

/* Read (value == NULL) or write a sysctl as text. */
static int sysctl_text(const char *dotted, const char *value, char *out, size_t outsize)
{
  struct mib m;
  union { int i; int64_t q; uint8_t b; char s[256]; } v;
  size_t size = sizeof v;
  if (mib_lookup(dotted, &m) < 0)
    return fail("unsupported", "NetBSD 7.99 has no sysctl %s", dotted);
  if (m.type != NB_CTLTYPE_INT && m.type != NB_CTLTYPE_QUAD && m.type != NB_CTLTYPE_BOOL &&
      m.type != NB_CTLTYPE_STRING)
    return fail("unsupported", "sysctl %s is not a number or a string", dotted);
  memset(&v, 0, sizeof v);
  if (rump_sys___sysctl(m.name, m.len, &v, &size, NULL, 0) < 0)
    return sysfail("reading sysctl %s", dotted);
  if (out) {
    if (m.type == NB_CTLTYPE_INT)
      snprintf(out, outsize, "%d", v.i);
    else if (m.type == NB_CTLTYPE_QUAD)
      snprintf(out, outsize, "%lld", (long long)v.q);
    else if (m.type == NB_CTLTYPE_BOOL)
      snprintf(out, outsize, "%d", v.b);
    else
      snprintf(out, outsize, "%.*s", (int)(outsize ? outsize - 1 : 0), v.s);
  }
  if (!value)
    return 0;
  char *end;
  long long n = strtoll(value, &end, 0);
  if (m.type != NB_CTLTYPE_STRING && (*end || end == value))
    return fail("invalid", "sysctl %s takes a number, not %s", dotted, value);
  memset(&v, 0, sizeof v);
  if (m.type == NB_CTLTYPE_INT) {
    if (n < INT_MIN || n > INT_MAX)
      return fail("invalid", "%s is out of range for %s", value, dotted);
    v.i = (int)n;
    size = sizeof v.i;
  } else if (m.type == NB_CTLTYPE_QUAD) {
    v.q = n;
    size = sizeof v.q;
  } else if (m.type == NB_CTLTYPE_BOOL) {
    v.b = n != 0;
    size = 1;
  } else {
    snprintf(v.s, sizeof v.s, "%s", value);
    size = strlen(v.s) + 1;
  }
  if (rump_sys___sysctl(m.name, m.len, NULL, NULL, &v, size) < 0)
    return sysfail("setting sysctl %s to %s", dotted, value);
  return 0;
}

static int sysctl_set_int(const char *dotted, int value)
{
  char text[32];
  snprintf(text, sizeof text, "%d", value);
  return sysctl_text(dotted, text, NULL, 0);
}

/* ------------------------------------------------------------------------
 * The routing socket and the sysctl dumps of the routing table, the
 * neighbour caches (lltables) and the interface addresses.
 */

#define RT_ROUNDUP(n) ((n) > 0 ? (1 + (((n) - 1) | 7)) : 8)

/* A routing message under construction. */
struct rtmsg {
  union {
    struct nb_rt_msghdr h;
    uint8_t bytes[512];
  } u;
  size_t len;
};

static void rtmsg_start(struct rtmsg *m, int type, int flags)
{
  static int seq;
  memset(m, 0, sizeof *m);
  m->u.h.version = NB_RTM_VERSION;
  m->u.h.type = (uint8_t)type;
  m->u.h.flags = flags;
  m->u.h.seq = ++seq;
  m->len = sizeof m->u.h;
}

static void rtmsg_add(struct rtmsg *m, int rta, const void *sa)
{
  const struct nb_sockaddr *s = sa;
  memcpy(m->u.bytes + m->len, sa, s->len);
  m->len += RT_ROUNDUP(s->len);
  m->u.h.addrs |= rta;
}

/* Write m to a fresh routing socket: 0, or errno (NetBSD's). */
static int rtmsg_send(struct rtmsg *m)
{
  int s = rump_sys_socket(NB_PF_ROUTE, NB_SOCK_RAW, NB_AF_UNSPEC);
  if (s < 0)
    return errno;
  m->u.h.msglen = (uint16_t)m->len;
  int rc = rump_sys_write(s, m->u.bytes, m->len) < 0 ? errno : 0;
  rump_sys_close(s);
  return rc;
}

/* The sockaddrs of a routing message, by RTAX index. */
static void rt_addrs(const uint8_t *p, const uint8_t *end, int addrs,
                     const struct nb_sockaddr *out[NB_RTAX_MAX])
{
  for (int i = 0; i < NB_RTAX_MAX; i++) {
    out[i] = NULL;
    if (!(addrs & (1 << i)) || p >= end)
      continue;
    out[i] = (const struct nb_sockaddr *)p;
    p += RT_ROUNDUP(out[i]->len);
  }
}

/* A sysctl dump under {CTL_NET, PF_ROUTE, 0, af, op, arg}: malloc'd, *len set. */
static uint8_t *rt_dump(int af, int op, int arg, size_t *len)
{
  int mib[6] = {NB_CTL_NET, NB_PF_ROUTE, 0, af, op, arg};
  for (int tries = 0; tries < 5; tries++) {
    size_t need = 0;
    if (rump_sys___sysctl(mib, 6, NULL, &need, NULL, 0) < 0)
      return NULL;
    need += need / 2 + 1024;
    uint8_t *buf = malloc(need);
    if (rump_sys___sysctl(mib, 6, buf, &need, NULL, 0) == 0) {
      *len = need;
      return buf;
    }
    free(buf);
    if (errno != 12)   /* ENOMEM: it grew meanwhile */
      return NULL;
  }
  return NULL;
}

#define FOR_EACH_MSG(h, buf, len) \
  for (const struct nb_rt_msghdr *h = (const void *)(buf); \
       (const uint8_t *)h + 4 <= (buf) + (len) && h->msglen; \
       h = (const void *)((const uint8_t *)h + h->msglen))

/* The addresses NetBSD has on ifc now (only == NULL: on every interface). */
struct held {
  struct iface *ifc;
  struct addr a;
};

static int addrs_now(struct held *out, int max)
{
  size_t len;
  uint8_t *buf = rt_dump(0, NB_NET_RT_IFLIST, 0, &len);
  int n = 0;
  if (!buf)
    return -1;
  FOR_EACH_MSG(h, buf, len) {
    if (h->type != NB_RTM_NEWADDR || n == max)
      continue;
    const struct nb_ifa_msghdr *ifam = (const void *)h;
    const struct nb_sockaddr *sa[NB_RTAX_MAX];
    rt_addrs((const uint8_t *)ifam + sizeof *ifam, (const uint8_t *)h + h->msglen, ifam->addrs, sa);
    struct iface *ifc = iface_by_index(ifam->index);
    if (!ifc || !sa[5] || addr_of_sockaddr(sa[5], &out[n].a) < 0)   /* RTAX_IFA */
      continue;
    out[n].a.plen = mask_plen(sa[2], out[n].a.v6);                  /* RTAX_NETMASK */
    out[n].ifc = ifc;
    n++;
  }
  free(buf);
  return n;
}

/* Routes, neighbours: walk a dump, calling fn for each message. */
typedef int (*rt_visit)(const struct nb_rt_msghdr *h, const struct nb_sockaddr **sa, void *arg);

static int rt_walk(int af, int op, int arg, rt_visit fn, void *fnarg)
{
  size_t len;
  uint8_t *buf = rt_dump(af, op, arg, &len);
  if (!buf)
    return sysfail("reading the routing table");
  int rc = 0;
  FOR_EACH_MSG(h, buf, len) {
    const struct nb_sockaddr *sa[NB_RTAX_MAX];
    if (h->version != NB_RTM_VERSION)
      continue;
    rt_addrs((const uint8_t *)(h + 1), (const uint8_t *)h + h->msglen, h->addrs, sa);
    if (!sa[0])
      continue;
    if ((rc = fn(h, sa, fnarg)) < 0)
      break;
  }
  free(buf);
  return rc;
}

/* Send a dumped message back as `type` (delete it), keeping its sockaddrs. */
static int rt_replay(const struct nb_rt_msghdr *h, int type, int extra_flags)
{
  struct rtmsg m;
  if (h->msglen > sizeof m.u.bytes)
    return E2BIG;
  rtmsg_start(&m, type, h->flags | extra_flags);
  memcpy(m.u.bytes + sizeof m.u.h, (const uint8_t *)(h + 1), h->msglen - sizeof *h);
  m.u.h.addrs = h->addrs;
  m.len = h->msglen;
  return rtmsg_send(&m);
}

/* ------------------------------------------------------------------------
 * Routes.
 */

/* A route of the protocol; a next hop (gateway or interface) is required
 * unless it is only to be deleted. */
static int route_parse(const struct jv *spec, struct route *r, int need_nexthop)
{
  const char *dest, *gw = NULL;
  memset(r, 0, sizeof *r);
  if (arg_str(spec, "destination", &dest, 1) || arg_str(spec, "gateway", &gw, 0) < 0 ||
      arg_iface(spec, &r->via, 0) < 0)
    return -1;
  if (!strcmp(dest, "default"))
    dest = gw && strchr(gw, ':') ? "::/0" : "0.0.0.0/0";
  if (parse_addr(dest, &r->dest, 1))
    return -1;
  if (gw) {
    if (parse_addr(gw, &r->gw, 0))
      return -1;
    if (r->gw.v6 != r->dest.v6)
      return fail("invalid", "gateway %s and destination %s are of different families", gw, dest);
    r->has_gw = 1;
  }
  if (need_nexthop && !r->has_gw && !r->via)
    return fail("invalid", "a route needs a gateway or an interface");
  return 0;
}

/* The interface a link-local gateway is on: the route's, else the first. */
static struct iface *gw_zone(const struct route *r)
{
  if (r->via)
    return r->via;
  return &ifs[0];
}

static int route_msg(const struct route *r, int type)
{
  struct rtmsg m;
  union nb_sockaddr_any dst, gw, mask, ifp;
  uint8_t mb[16];
  int host = r->dest.plen == (r->dest.v6 ? 128 : 32);
  int flags = NB_RTF_UP | NB_RTF_STATIC | (r->has_gw ? NB_RTF_GATEWAY : 0) | (host ? NB_RTF_HOST : 0);
  rtmsg_start(&m, type, flags);
  struct addr d = r->dest;
  mask_bytes(d.plen, d.v6, mb);
  for (int i = 0; i < 16; i++)
    d.b[i] &= mb[i];
  sockaddr_of(&d, 0, 0, &dst);
  rtmsg_add(&m, NB_RTA_DST, &dst);
  if (r->has_gw) {
    struct addr g = r->gw;
    if (g.v6)
      scope_embed(g.b, gw_zone(r)->index);
    sockaddr_of(&g, 0, 0, &gw);
    rtmsg_add(&m, NB_RTA_GATEWAY, &gw);
  } else if (type == NB_RTM_ADD) {
    memset(&gw, 0, sizeof gw);
    gw.dl.len = sizeof gw.dl;
    gw.dl.family = NB_AF_LINK;
    gw.dl.index = (uint16_t)r->via->index;
    rtmsg_add(&m, NB_RTA_GATEWAY, &gw);
  }
  if (!host) {
    struct addr ma = {.v6 = d.v6};
    memcpy(ma.b, mb, 16);
    sockaddr_of(&ma, 0, 0, &mask);
    rtmsg_add(&m, NB_RTA_NETMASK, &mask);
  }
  if (r->via && r->has_gw && type == NB_RTM_ADD) {
    memset(&ifp, 0, sizeof ifp);
    ifp.dl.len = sizeof ifp.dl;
    ifp.dl.family = NB_AF_LINK;
    ifp.dl.index = (uint16_t)r->via->index;
    rtmsg_add(&m, NB_RTA_IFP, &ifp);
  }
  int e = rtmsg_send(&m);
  if (e) {
    char a[INET6_ADDRSTRLEN];
    errno = e;
    if (e == 17)   /* EEXIST */
      return fail("failed", "route to %s/%d exists", addr_text(&r->dest, a, sizeof a), r->dest.plen);
    if (e == 3)    /* ESRCH */
      return fail("failed", "no route to %s/%d", addr_text(&r->dest, a, sizeof a), r->dest.plen);
    return sysfail("%s route to %s/%d", type == NB_RTM_ADD ? "adding" : "removing",
                   addr_text(&r->dest, a, sizeof a), r->dest.plen);
  }
  return 0;
}

/* Every route that is not an address's own (connected, local, broadcast,
 * multicast) goes: static, redirected, dynamic (path MTU) ones. */
static int route_flush_one(const struct nb_rt_msghdr *h, const struct nb_sockaddr **sa, void *arg)
{
  (void)arg;
  int mine = NB_RTF_STATIC | NB_RTF_GATEWAY | NB_RTF_DYNAMIC | NB_RTF_MODIFIED |
             NB_RTF_REJECT | NB_RTF_BLACKHOLE;
  if (debug > 1) {
    struct addr d;
    char text[INET6_ADDRSTRLEN];
    if (addr_of_sockaddr(sa[0], &d) == 0)
      fprintf(stderr, "rump-dut: reset: route to %s/%d flags %#x\n",
              addr_text(&d, text, sizeof text), mask_plen(sa[2], d.v6), h->flags);
  }
  if (!(h->flags & mine) || (h->flags & (NB_RTF_LOCAL | NB_RTF_BROADCAST | NB_RTF_LLDATA)))
    return 0;
  if (debug) {
    struct addr d;
    char text[INET6_ADDRSTRLEN];
    if (addr_of_sockaddr(sa[0], &d) == 0)
      fprintf(stderr, "rump-dut: reset: deleting the route to %s/%d (flags %#x)\n",
              addr_text(&d, text, sizeof text), mask_plen(sa[2], d.v6), h->flags);
  }
  int e = rt_replay(h, NB_RTM_DELETE, 0);
  if (e && e != 3)
    fprintf(stderr, "rump-dut: reset: deleting a route: %s\n", strerror(rump_errno2host(e)));
  return 0;
}

/* ------------------------------------------------------------------------
 * Neighbours: lltable entries, through the routing socket with RTF_LLDATA.
 */

struct neigh_walk {
  struct iface *only;
  int flush;
  struct buf *out;
  int first;
  struct held own[64];            /* the DUT's own addresses: their entries stay */
  int nown;
};

static const char *nd_state_word(int state)
{
  if (state == NB_ND6_LLINFO_INCOMPLETE) return "INCOMPLETE";
  if (state == NB_ND6_LLINFO_REACHABLE) return "REACHABLE";
  if (state == NB_ND6_LLINFO_STALE) return "STALE";
  if (state == NB_ND6_LLINFO_DELAY) return "DELAY";
  if (state == NB_ND6_LLINFO_PROBE) return "PROBE";
  if (state == NB_ND6_LLINFO_PURGE) return "PURGE";
  return "NOSTATE";
}

static int neigh_one(const struct nb_rt_msghdr *h, const struct nb_sockaddr **sa, void *arg)
{
  struct neigh_walk *w = arg;
  const struct nb_sockaddr_dl *dl = (const void *)sa[1];
  struct addr a;
  if (!dl || dl->family != NB_AF_LINK || addr_of_sockaddr(sa[0], &a) < 0)
    return 0;
  struct iface *ifc = iface_by_index(dl->index);
  if (!ifc || (w->only && w->only != ifc))
    return 0;
  /* NetBSD 7.99 keeps an lltable entry for each of its own addresses
   * (LLE_IFADDR): not a neighbour, and not to be deleted. */
  for (int i = 0; i < w->nown; i++)
    if (addr_eq(&w->own[i].a, &a))
      return 0;
  if (w->flush) {
    /* As ndp -s, then ndp -d.  NetBSD 7.99 deletes a dynamic entry only in
     * name (in6_lltable_delete, in_lltable_delete: LLE_DELETED): it stays in
     * the table with its timer, which goes on soliciting, and a new entry
     * for the same address joins it (a test later aborted on a lock taken
     * twice in nd6_llinfo_timer's solicitation).  A static entry it unlinks
     * and frees. */
    int e = rt_replay(h, NB_RTM_ADD, NB_RTF_LLDATA | NB_RTF_STATIC | NB_RTF_HOST);
    if (e && e != 17)   /* EEXIST: static already */
      fprintf(stderr, "rump-dut: making a neighbour entry static: %s\n", strerror(rump_errno2host(e)));
    e = rt_replay(h, NB_RTM_DELETE, NB_RTF_LLDATA);
    if (e && e != 2 && e != 3)
      fprintf(stderr, "rump-dut: deleting a neighbour entry: %s\n", strerror(rump_errno2host(e)));
    return 0;
  }
  char text[INET6_ADDRSTRLEN];
  const char *state;
  int complete = dl->alen == 6;
  /* Not RTF_STATIC: lltable_dump_entry ORs it into a header it reuses, so
   * every entry dumped after a static one shows it.  rmx_expire is set per
   * entry: 0 for a static one (as ndp's ND6_LLINFO_PERMANENT). */
  if (complete && h->rmx.expire == 0) {
    state = "PERMANENT";
  } else if (a.v6) {
    struct nb_in6_nbrinfo nbi;
    memset(&nbi, 0, sizeof nbi);
    snprintf(nbi.name, sizeof nbi.name, "%s", ifc->rname);
    memcpy(nbi.addr, ((const struct nb_sockaddr_in6 *)sa[0])->addr, 16);
    state = rump_sys_ioctl(sock6, NB_IOCTL(NB_SIOCGNBRINFO_IN6), &nbi) == 0
                ? nd_state_word(nbi.state) : (complete ? "REACHABLE" : "INCOMPLETE");
  } else {
    /* NetBSD 7.99's ARP has no NUD states: an entry resolves or waits */
    state = complete ? "REACHABLE" : "INCOMPLETE";
  }
  bput(w->out, "%s{\"address\":\"%s\",\"interface\":\"%s\",", w->first ? "" : ",",
       addr_text(&a, text, sizeof text), ifc->name);
  if (complete)
    bput(w->out, "\"mac\":\"%02x:%02x:%02x:%02x:%02x:%02x\",", dl->data[dl->nlen],
         dl->data[dl->nlen + 1], dl->data[dl->nlen + 2], dl->data[dl->nlen + 3],
         dl->data[dl->nlen + 4], dl->data[dl->nlen + 5]);
  else
    bput(w->out, "\"mac\":null,");
  bput(w->out, "\"state\":\"%s\"}", state);
  w->first = 0;
  return 0;
}

static int neigh_walk_all(struct neigh_walk *w, const char *family)
{
  if ((w->nown = addrs_now(w->own, 64)) < 0)
    return sysfail("listing addresses");
  if ((!family || !strcmp(family, "ipv4")) &&
      rt_walk(NB_AF_INET, NB_NET_RT_FLAGS, NB_RTF_LLDATA, neigh_one, w) < 0)
    return -1;
  if ((!family || !strcmp(family, "ipv6")) &&
      rt_walk(NB_AF_INET6, NB_NET_RT_FLAGS, NB_RTF_LLDATA, neigh_one, w) < 0)
    return -1;
  return 0;
}

/* ------------------------------------------------------------------------
 * Knobs: NetBSD's sysctl names, and Linux's where the meaning matches.
 */

/* The sysctls a knob or the baseline changed, with their values before. */
static struct saved {
  char name[96];
  char value[64];
} saved[64];
static int nsaved;

static int sysctl_remember(const char *name)
{
  for (int i = 0; i < nsaved; i++)
    if (!strcmp(saved[i].name, name))
      return 0;
  if (nsaved == (int)(sizeof saved / sizeof *saved))
    return fail("failed", "too many knobs changed");
  if (sysctl_text(name, NULL, saved[nsaved].value, sizeof saved[nsaved].value))
    return -1;
  snprintf(saved[nsaved].name, sizeof saved[nsaved].name, "%s", name);
  nsaved++;
  return 0;
}

/* Linux's ICMP rate limits, which NetBSD expresses as errors per second. */
static struct linux_knobs {
  int icmp_ratelimit, icmp_ratemask;   /* net.ipv4.icmp_ratelimit (ms), _ratemask */
  int icmp6_ratelimit;                 /* net.ipv6.icmp.ratelimit (ms) */
  int srcrt_all;                       /* net.ipv4.conf.all.accept_source_route */
  int accept_dad, dad_transmits;       /* net.ipv6.conf.IFACE.{accept_dad,dad_transmits} */
} lk, lk_base = {1000, 0, 0, 0, 0, 1};

/* Linux's token interval (ms) as NetBSD's errppslimit: -1 is no limit. */
static int pps_of(int ms)
{
  return ms <= 0 ? -1 : ms >= 1000 ? 1 : 1000 / ms;
}

/* The NetBSD sysctls that stand for Linux's knobs, from lk.  NetBSD's
 * DupAddrDetectTransmits, net.inet6.ip6.dad_count, is one for all
 * interfaces (0: no DAD): Linux's per-interface accept_dad and
 * dad_transmits of any interface set it for every interface. */
static int linux_knobs_apply(void)
{
  int all = lk.srcrt_all;
  for (int i = 0; i < nifs; i++)
    all = all && ifs[i].srcrt;
  if (sysctl_set_int("net.inet.icmp.errppslimit", lk.icmp_ratemask ? pps_of(lk.icmp_ratelimit) : -1) ||
      sysctl_set_int("net.inet6.icmp6.errppslimit", pps_of(lk.icmp6_ratelimit)) ||
      sysctl_set_int("net.inet.ip.allowsrcrt", all) || sysctl_set_int("net.inet.ip.forwsrcrt", all) ||
      sysctl_set_int("net.inet6.ip6.dad_count", lk.accept_dad ? lk.dad_transmits : 0))
    return -1;
  return 0;
}

/* IP forwarding; for IPv6 with the role that goes with it, as NetBSD's
 * rc.d sets them (ip6mode=router or autohost): a host accepts Router
 * Advertisements (net.inet6.ip6.accept_rtadv 1; the kernel's default is 0,
 * which ignores them), a router does not. */
static int set_forwarding(int v6, int on)
{
  if (!v6)
    return sysctl_set_int("net.inet.ip.forwarding", on);
  return sysctl_set_int("net.inet6.ip6.accept_rtadv", !on) ||
         sysctl_set_int("net.inet6.ip6.forwarding", on);
}

/* net.ipv6.conf.all.forwarding: IPv6 forwarding and its role, as Linux's
 * accept_ra 1 takes advertisements only while not forwarding (reset
 * restores both). */
static int forwarding_knob(const char *value, struct buf *out)
{
  char got[64];
  if (!value) {
    if (sysctl_text("net.inet6.ip6.forwarding", NULL, got, sizeof got))
      return -1;
    bput(out, ",\"value\":");
    bstr(out, got);
    return 0;
  }
  if (strcmp(value, "0") && strcmp(value, "1"))
    return fail("invalid", "net.ipv6.conf.all.forwarding takes 0 or 1, not %s", value);
  return set_forwarding(1, value[0] == '1');
}

static const char *const nd_fields[] = {"base_reachable_time_ms", "base_reachable_time",
                                        "retrans_time_ms", NULL};

/* net.ipv6.neigh.IFACE.FIELD: a per-interface ND setting (SIOC[GS]IFINFO_IN6). */
static int nd_knob(const char *ifname, const char *field, const char *value, struct buf *out)
{
  struct iface *ifc = iface_named(ifname);
  struct nb_in6_ndireq nd;
  int f;
  for (f = 0; nd_fields[f] && strcmp(nd_fields[f], field); f++)
    ;
  if (!ifc || !nd_fields[f])
    return fail("unsupported", "NetBSD has no per-interface setting net.ipv6.neigh.%s.%s",
                ifname, field);
  memset(&nd, 0, sizeof nd);
  if (nd_info(ifc, &nd, 0) < 0)
    return sysfail("SIOCGIFINFO_IN6 %s", ifc->rname);
  uint32_t *slot = f == 2 ? &nd.ndi.retrans : &nd.ndi.basereachable;
  unsigned scale = f == 1 ? 1000 : 1;
  if (!value) {
    bput(out, ",\"value\":\"%u\"", *slot / scale);
    return 0;
  }
  char *end;
  unsigned long n = strtoul(value, &end, 10);
  if (*end || end == value || n == 0 || n * scale > 3600000)
    return fail("invalid", "%s must be a positive number below an hour", field);
  *slot = (uint32_t)(n * scale);
  if (f != 2)
    nd.ndi.reachable = 0;   /* recomputed from the base (ND6_RECALC_REACHTM) */
  if (nd_info(ifc, &nd, 1) < 0)
    return sysfail("SIOCSIFINFO_IN6 %s", ifc->rname);
  return 0;
}

/* The interface X of a knob named PREFIX X SUFFIX, or NULL. */
static struct iface *knob_iface(const char *name, const char *prefix, const char *suffix)
{
  size_t p = strlen(prefix), s = strlen(suffix), n = strlen(name);
  char ifname[IFNAMSIZ];
  if (n <= p + s || n - p - s >= sizeof ifname || strncmp(name, prefix, p) ||
      strcmp(name + n - s, suffix))
    return NULL;
  memcpy(ifname, name + p, n - p - s);
  ifname[n - p - s] = 0;
  return iface_named(ifname);
}

/* knob_set (value) or knob_get (value == NULL, answer into out). */
static int knob(const char *name, const char *value, struct buf *out)
{
  char ifname[IFNAMSIZ + 1], field[64], got[64];
  const char *netbsd = NULL;
  int *linux_slot = NULL;
  struct iface *ifc;

  if (!strcmp(name, "net.ipv4.ip_default_ttl"))
    netbsd = "net.inet.ip.ttl";
  else if (!strcmp(name, "net.ipv4.ip_forward"))
    netbsd = "net.inet.ip.forwarding";
  else if (!strcmp(name, "net.ipv6.conf.all.forwarding"))
    return forwarding_knob(value, out);
  else if (!strcmp(name, "net.ipv4.icmp_ratelimit"))
    linux_slot = &lk.icmp_ratelimit;
  else if (!strcmp(name, "net.ipv4.icmp_ratemask"))
    linux_slot = &lk.icmp_ratemask;
  else if (!strcmp(name, "net.ipv6.icmp.ratelimit"))
    linux_slot = &lk.icmp6_ratelimit;
  else if (!strcmp(name, "net.ipv4.conf.all.accept_source_route"))
    linux_slot = &lk.srcrt_all;
  else if ((ifc = knob_iface(name, "net.ipv4.conf.", ".accept_source_route")))
    linux_slot = &ifc->srcrt;
  else if (knob_iface(name, "net.ipv6.conf.", ".keep_addr_on_down")) {
    if (!value) {
      bput(out, ",\"value\":\"1\"");
      return 0;
    }
    return strcmp(value, "1") ? fail("unsupported", "NetBSD always keeps the IPv6 addresses of "
                                     "an interface that goes down (in6_if_down only detaches "
                                     "them): keep_addr_on_down is 1") : 0;
  } else if (knob_iface(name, "net.ipv6.conf.", ".accept_dad"))
    linux_slot = &lk.accept_dad;
  else if (knob_iface(name, "net.ipv6.conf.", ".dad_transmits"))
    linux_slot = &lk.dad_transmits;
  else if (sscanf(name, "net.ipv6.neigh.%16[^.].%63s", ifname, field) == 2)
    return nd_knob(ifname, field, value, out);
  else if (!strcmp(name, "net.ipv4.ipfrag_time") || !strcmp(name, "net.ipv6.ip6frag_time"))
    return fail("unsupported", "NetBSD's reassembly timeout is a compile-time constant "
                "(IPFRAGTTL 30 s, IPV6_FRAGTTL 60 s), no sysctl");
  else if (!strncmp(name, "net.ipv4.neigh.", 15))
    return fail("unsupported", "NetBSD 7.99's ARP has no reachable-time state machine; its "
                "only timers are net.inet.arp.keep and net.inet.arp.down (s)");
  else if (!strncmp(name, "net.ipv4.", 9) || !strncmp(name, "net.ipv6.", 9) ||
           !strncmp(name, "net.core.", 9))
    return fail("unsupported", "NetBSD has no setting that means the same as Linux's %s "
                "(NetBSD's own are under net.inet, net.inet6)", name);
  else
    netbsd = name;

  if (linux_slot) {
    if (!value) {
      bput(out, ",\"value\":\"%d\"", *linux_slot);
      return 0;
    }
    char *end;
    long n = strtol(value, &end, 10);
    if (*end || end == value || n < 0 || n > INT_MAX)
      return fail("invalid", "%s takes a number, not %s", name, value);
    if (linux_slot == &lk.accept_dad && n > 1)
      return fail("unsupported", "NetBSD has no accept_dad %ld: its DAD is on or off "
                  "(net.inet6.ip6.dad_count), and a duplicated hardware-derived link-local "
                  "address always disables IPv6 on the interface (nd6_dad_duplicated)", n);
    int old = *linux_slot;
    *linux_slot = (int)n;
    if (linux_knobs_apply()) {
      *linux_slot = old;
      return -1;
    }
    return 0;
  }
  if (!value) {
    if (sysctl_text(netbsd, NULL, got, sizeof got))
      return -1;
    bput(out, ",\"value\":");
    bstr(out, got);
    return 0;
  }
  if (sysctl_remember(netbsd))
    return -1;
  return sysctl_text(netbsd, value, NULL, 0);
}

/* ------------------------------------------------------------------------
 * UDP listeners: the kernel's sockets queue the datagrams.
 */

static struct listener {
  int fd;                         /* 0: slot free (rump descriptors start at 0 too: +1) */
  int v6;
} listeners[MAX_LISTENERS];

static void listener_close(struct listener *l)
{
  rump_sys_close(l->fd - 1);
  memset(l, 0, sizeof *l);
}

/* ------------------------------------------------------------------------
 * Echo: ICMP / ICMPv6 echo requests from a raw socket, and what comes back.
 */

static void sleep_s(double s)
{
  struct timespec t = {.tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};
  while (nanosleep(&t, &t) < 0 && errno == EINTR)
    ;
}

static double now_s(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* iputils' words for ICMP error type/code (info: MTU, pointer or gateway). */
static void icmp4_words(char *out, size_t size, uint8_t type, uint8_t code, const uint8_t *icmp)
{
  static const char *const unreach[] = {
    "Destination Net Unreachable", "Destination Host Unreachable",
    "Destination Protocol Unreachable", "Destination Port Unreachable",
    "Frag needed and DF set (mtu = %u)", "Source Route Failed",
    "Destination Net Unknown", "Destination Host Unknown", "Source Host Isolated",
    "Destination Net Prohibited", "Destination Host Prohibited",
    "Destination Net Unreachable for Type of Service",
    "Destination Host Unreachable for Type of Service", "Packet filtered",
    "Precedence Violation", "Precedence Cutoff"};
  static const char *const redirect[] = {
    "Redirect Network", "Redirect Host", "Redirect Type of Service and Network",
    "Redirect Type of Service and Host"};
  char gw[16];
  switch (type) {
  case 3:
    if (code < 16)
      snprintf(out, size, unreach[code], (icmp[6] << 8) | icmp[7]);
    else
      snprintf(out, size, "Dest Unreachable, Bad Code: %d", code);
    break;
  case 4:
    snprintf(out, size, "Source Quench");
    break;
  case 5:
    snprintf(gw, sizeof gw, "%u.%u.%u.%u", icmp[4], icmp[5], icmp[6], icmp[7]);
    if (code < 4)
      snprintf(out, size, "%s(New nexthop: %s)", redirect[code], gw);
    else
      snprintf(out, size, "Redirect, Bad Code: %d(New nexthop: %s)", code, gw);
    break;
  case 11:
    if (code < 2)
      snprintf(out, size, code ? "Frag reassembly time exceeded" : "Time to live exceeded");
    else
      snprintf(out, size, "Time exceeded, Bad Code: %d", code);
    break;
  default:   /* ICMP_PP */
    snprintf(out, size, "Parameter problem: pointer = %u", icmp[4]);
  }
}

/* iputils' words for an ICMPv6 error. */
static void icmp6_words(char *out, size_t size, uint8_t type, uint8_t code, const uint8_t *icmp)
{
  static const char *const unreach[] = {
    "No route", "Administratively prohibited", "Beyond scope of source address",
    "Address unreachable", "Port unreachable",
    "Source address failed ingress/egress policy", "Reject route to destination"};
  static const char *const param[] = {"Wrong header field ", "Unknown header ", "Unknown option "};
  unsigned info = (unsigned)icmp[4] << 24 | icmp[5] << 16 | icmp[6] << 8 | icmp[7];
  char what[64];
  switch (type) {
  case 1:
    if (code < 7)
      snprintf(what, sizeof what, "%s", unreach[code]);
    else
      snprintf(what, sizeof what, "Unknown code %d", code);
    snprintf(out, size, "Destination unreachable: %s", what);
    break;
  case 2:
    snprintf(out, size, code ? "Packet too big: mtu=%u, code=%d" : "Packet too big: mtu=%u", info, code);
    break;
  case 3:
    if (code < 2)
      snprintf(out, size, "Time exceeded: %s", code ? "Defragmentation failure" : "Hop limit");
    else
      snprintf(out, size, "Time exceeded: code %d", code);
    break;
  default:   /* ICMP6_TYPE_PP */
    if (code < 3)
      snprintf(out, size, "Parameter problem: %sat %u", param[code], info);
    else
      snprintf(out, size, "Parameter problem: code %d at %u", code, info);
  }
}

/* Record that seq (1-based) was answered; 0 if it is not one of ours. */

struct echo {
  int v6, fd;
  uint16_t id;
  int count, answered;
  double *sent_at;
  char *seen;
  struct buf replies, errors;
};

static int echo_answer(struct echo *e, unsigned seq)
{
  if (seq < 1 || seq > (unsigned)e->count || e->sent_at[seq - 1] == 0)
    return 0;
  if (!e->seen[seq - 1]) {
    e->seen[seq - 1] = 1;
    e->answered++;
  }
  return 1;
}

/* One ICMP message from the raw socket: IPv4 with its IP header, ICMPv6
 * without (hop limit from the control message). */
static void echo_got(struct echo *e, const uint8_t *b, size_t len, const struct addr *from, int hlim)
{
  char src[INET6_ADDRSTRLEN], words[96];
  size_t hlen = e->v6 ? 0 : (size_t)(b[0] & 0x0f) * 4;
  unsigned ttl = e->v6 ? (unsigned)hlim : b[8];
  if (len < hlen + 8)
    return;
  const uint8_t *icmp = b + hlen;
  uint8_t type = icmp[0];
  addr_text(from, src, sizeof src);
  int reply = e->v6 ? type == 129 : type == 0;
  if (reply && ((icmp[4] << 8) | icmp[5]) == e->id) {
    unsigned seq = (unsigned)(icmp[6] << 8 | icmp[7]);
    if (echo_answer(e, seq))
      bput(&e->replies, "%s{\"source\":\"%s\",\"seq\":%u,\"ttl\":%u,\"size\":%zu,\"rtt_ms\":%.3f}",
           e->replies.n ? "," : "", src, seq, ttl, len - hlen,
           (now_s() - e->sent_at[seq - 1]) * 1000.0);
    return;
  }
  int error = e->v6 ? type >= 1 && type <= 4
                    : type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
  if (!error)
    return;
  const uint8_t *q = icmp + 8;
  size_t left = len - hlen - 8, qlen;
  if (left < (e->v6 ? 40u : 20u))
    return;
  qlen = e->v6 ? 40 : (size_t)(q[0] & 0x0f) * 4;
  if (left < qlen + 8 || (e->v6 ? q[6] != 58 : q[9] != 1) || q[qlen] != (e->v6 ? 128 : 8) ||
      ((q[qlen + 4] << 8) | q[qlen + 5]) != e->id ||
      !echo_answer(e, (unsigned)(q[qlen + 6] << 8 | q[qlen + 7])))
    return;
  if (e->v6)
    icmp6_words(words, sizeof words, type, icmp[1], icmp);
  else
    icmp4_words(words, sizeof words, type, icmp[1], icmp);
  bput(&e->errors, "%s\"from %s: %s\"", e->errors.n ? "," : "", src, words);
}

/* Read everything the raw socket holds now. */
static void echo_drain(struct echo *e)
{
  static uint8_t b[70000];
  for (;;) {
    union nb_sockaddr_any from;
    uint8_t control[64];
    struct iovec iov = {.iov_base = b, .iov_len = sizeof b};
    struct nb_msghdr m = {.name = &from, .namelen = sizeof from, .iov = &iov, .iovlen = 1,
                          .control = control, .controllen = sizeof control};
    memset(&from, 0, sizeof from);
    ssize_t n = rump_sys_recvmsg(e->fd, (struct msghdr *)&m, NB_MSG_DONTWAIT);
    if (n < 0)
      return;
    int hlim = -1;
    for (size_t off = 0; off + sizeof(struct nb_cmsghdr) <= m.controllen;) {
      struct nb_cmsghdr *c = (void *)(control + off);
      if (c->len < sizeof *c)
        break;
      if (c->level == NB_IPPROTO_IPV6 && c->type == NB_IPV6_HOPLIMIT)
        memcpy(&hlim, control + off + NB_CMSG_DATA_OFFSET, sizeof hlim);
      off += (c->len + 7) & ~7u;
    }
    struct addr src;
    if (addr_of_sockaddr(&from.sa, &src) == 0)
      echo_got(e, b, (size_t)n, &src, hlim);
  }
}

/* The interface whose addresses include a (NULL if none). */
static struct iface *iface_holding(const struct addr *a)
{
  struct held now[64];
  int n = addrs_now(now, 64);
  for (int i = 0; i < n; i++)
    if (addr_eq(&now[i].a, a))
      return now[i].ifc;
  return NULL;
}

/* True if a is on one of ifc's connected networks (IPv6 link-locals always). */
static int on_link(struct iface *ifc, const struct addr *a)
{
  struct held now[64];
  int n = addrs_now(now, 64);
  if (a->v6 && is_linklocal6(a->b))
    return 1;
  for (int i = 0; i < n; i++) {
    uint8_t mask[16];
    int same = now[i].ifc == ifc && now[i].a.v6 == a->v6;
    mask_bytes(now[i].a.plen, a->v6, mask);
    for (int k = 0; same && k < (a->v6 ? 16 : 4); k++)
      same = (now[i].a.b[k] & mask[k]) == (a->b[k] & mask[k]);
    if (same)
      return 1;
  }
  return 0;
}

static int op_echo(const struct jv *req, struct buf *out)
{
  const char *dest, *source = NULL;
  double count, size, timeout, interval, ttl = -1;
  int df;
  struct addr dst, src;
  static uint16_t next_id;
  if (arg_str(req, "destination", &dest, 1) || arg_num(req, "count", &count, 1) ||
      arg_num(req, "size", &size, 1) || arg_bool(req, "dont_fragment", &df, 1) ||
      arg_num(req, "timeout", &timeout, 1) || arg_num(req, "interval", &interval, 1) ||
      arg_num(req, "ttl", &ttl, 0) < 0 || arg_str(req, "source", &source, 0) < 0 ||
      parse_addr(dest, &dst, 0) || (source && parse_addr(source, &src, 0)))
    return -1;
  if (count < 1 || count > 10000 || size < 0 || size > 65000 || timeout < 0 || interval < 0 ||
      (ttl != -1 && (ttl < 1 || ttl > 255)))
    return fail("invalid", "count, size, ttl, timeout or interval out of range");
  if (source && src.v6 != dst.v6)
    return fail("invalid", "source and destination are of different families");
  struct iface *zone = source ? iface_holding(&src) : NULL;
  if (source && !zone)
    return fail("failed", "%s is not an address of the DUT", source);
  if (!zone)
    zone = &ifs[0];

  struct echo e = {.v6 = dst.v6, .count = (int)count};
  int big = 1 << 20, one = 1, fd;
  e.fd = fd = rump_sys_socket(dst.v6 ? NB_AF_INET6 : NB_AF_INET, NB_SOCK_RAW,
                              dst.v6 ? NB_IPPROTO_ICMPV6 : NB_IPPROTO_ICMP);
  if (fd < 0)
    return sysfail("raw socket");
  rump_sys_setsockopt(fd, NB_SOL_SOCKET, NB_SO_RCVBUF, &big, sizeof big);
  rump_sys_setsockopt(fd, NB_SOL_SOCKET, NB_SO_SNDBUF, &big, sizeof big);
  int rc = 0;
  if (dst.v6) {
    rc |= rump_sys_setsockopt(fd, NB_IPPROTO_IPV6, NB_IPV6_RECVHOPLIMIT, &one, sizeof one);
    if (ttl != -1) {
      int h = (int)ttl;
      rc |= rump_sys_setsockopt(fd, NB_IPPROTO_IPV6, NB_IPV6_UNICAST_HOPS, &h, sizeof h);
    }
    if (df)
      rc |= rump_sys_setsockopt(fd, NB_IPPROTO_IPV6, NB_IPV6_DONTFRAG, &one, sizeof one);
  } else if (df) {
    rc |= rump_sys_setsockopt(fd, NB_IPPROTO_IP, NB_IP_HDRINCL, &one, sizeof one);
  } else if (ttl != -1) {
    int t = (int)ttl;
    rc |= rump_sys_setsockopt(fd, NB_IPPROTO_IP, NB_IP_TTL, &t, sizeof t);
  }
  if (rc) {
    sysfail("raw socket options");
    rump_sys_close(fd);
    return -1;
  }
  if (source) {
    union nb_sockaddr_any sa;
    unsigned salen = sockaddr_of(&src, 0, is_scoped6(src.b) && src.v6 ? zone->index : 0, &sa);
    if (rump_sys_bind(fd, (struct sockaddr *)&sa, salen) < 0) {
      sysfail("bind %s", source);
      rump_sys_close(fd);
      return -1;
    }
  }
  int defttl = 64;
  if (!dst.v6 && df && ttl == -1) {
    char t[16];
    if (sysctl_text("net.inet.ip.ttl", NULL, t, sizeof t) == 0)
      defttl = atoi(t);
  }
  union nb_sockaddr_any to;
  unsigned tolen = sockaddr_of(&dst, 0, dst.v6 && is_scoped6(dst.b) ? zone->index : 0, &to);

  e.id = (uint16_t)(getpid() + ++next_id);
  e.sent_at = calloc((size_t)count, sizeof *e.sent_at);
  e.seen = calloc((size_t)count, 1);
  bput(&e.replies, "%s", "");
  bput(&e.errors, "%s", "");
  uint8_t *pkt = malloc(20 + 8 + (size_t)size);
  int transmitted = 0;
  char local[160] = "";
  for (int seq = 1; seq <= (int)count; seq++) {
    size_t hl = !dst.v6 && df ? 20 : 0, len = hl + 8 + (size_t)size;
    uint8_t *icmp = pkt + hl;
    memset(pkt, 0, len);
    if (hl) {
      uint16_t total = (uint16_t)len, off = 0x4000;   /* host order, as NetBSD's raw IP wants */
      pkt[0] = 0x45;
      memcpy(pkt + 2, &total, 2);
      memcpy(pkt + 6, &off, 2);
      pkt[8] = (uint8_t)(ttl != -1 ? (int)ttl : defttl);
      pkt[9] = 1;
      if (source)
        memcpy(pkt + 12, src.b, 4);
      memcpy(pkt + 16, dst.b, 4);
    }
    icmp[0] = dst.v6 ? 128 : 8;
    icmp[4] = (uint8_t)(e.id >> 8);
    icmp[5] = (uint8_t)e.id;
    icmp[6] = (uint8_t)(seq >> 8);
    icmp[7] = (uint8_t)seq;
    for (int i = 0; i < (int)size; i++)
      icmp[8 + i] = (uint8_t)i;
    if (!dst.v6) {
      uint32_t sum = 0;
      for (size_t i = 0; i + 1 < 8 + (size_t)size; i += 2)
        sum += (uint32_t)(icmp[i] << 8 | icmp[i + 1]);
      if ((8 + (size_t)size) & 1)
        sum += (uint32_t)icmp[8 + (size_t)size - 1] << 8;
      while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
      icmp[2] = (uint8_t)(~sum >> 8);
      icmp[3] = (uint8_t)~sum;
    }
    e.sent_at[seq - 1] = now_s();
    if (rump_sys_sendto(fd, pkt, len, 0, (struct sockaddr *)&to, tolen) >= 0) {
      transmitted++;
    } else {
      int err = rump_errno2host(errno);
      e.sent_at[seq - 1] = 0;
      if (!*local) {
        if (err == EMSGSIZE) {
          struct iface *via = zone;
          struct nb_ifreq ifr;
          memset(&ifr, 0, sizeof ifr);
          int mtu = ifreq_ioctl(via, NB_SIOCGIFMTU, &ifr) == 0 ? ifr.u.mtu : via->mtu;
          snprintf(local, sizeof local, "local error: message too long, mtu=%d", mtu);
        } else if (err == ENETUNREACH || err == EHOSTUNREACH) {
          snprintf(local, sizeof local, "connect: %s", strerror(err));
        } else {
          snprintf(local, sizeof local, "sendmsg: %s", strerror(err));
        }
      }
    }
    /* wait for the next request's time, collecting what arrives */
    double until = now_s() + (seq < (int)count ? interval : timeout);
    for (;;) {
      echo_drain(&e);
      double left = until - now_s();
      if (left <= 0 || (seq == (int)count && e.answered >= transmitted))
        break;
      struct pollfd p = {.fd = fd, .events = POLLIN};
      rump_sys_poll(&p, 1, (int)(left * 1000) + 1);
    }
  }
  rump_sys_close(fd);
  free(pkt);
  bput(out, ",\"transmitted\":%d,\"replies\":[%s],\"errors\":[%s", transmitted, e.replies.s,
       e.errors.s);
  if (*local) {
    bput(out, "%s", e.errors.n ? "," : "");
    bstr(out, local);
  }
  bput(out, "]");
  free(e.replies.s);
  free(e.errors.s);
  free(e.sent_at);
  free(e.seen);
  return 0;
}

/* ------------------------------------------------------------------------
 * Operations.  Each answers 0 (result fields appended to out) or -1 (fail()).
 */

static char version[128];

static int op_hello(const struct jv *req, struct buf *out)
{
  (void)req;
  bput(out, ",\"stack\":\"rump\",\"version\":");
  bstr(out, version);
  return 0;
}

/* Read one interface of `configure` into its baseline. */
static int configure_iface(const struct jv *spec)
{
  struct iface *ifc;
  const char *name, *mac, *ll;
  double mtu;
  unsigned m[6];
  struct addr a;
  if (spec->type != J_OBJ)
    return fail("invalid", "an interface is an object");
  if (arg_str(spec, "name", &name, 1))
    return -1;
  if (!(ifc = iface_named(name)))
    return fail("invalid", "no interface %s", name);
  if (arg_str(spec, "mac", &mac, 1) || arg_num(spec, "mtu", &mtu, 1) ||
      arg_str(spec, "link_local", &ll, 1))
    return -1;
  if (sscanf(mac, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6)
    return fail("invalid", "not a MAC: %s", mac);
  for (int i = 0; i < 6; i++)
    ifc->mac[i] = (uint8_t)m[i];
  if (mtu < 68 || mtu > 65535)
    return fail("invalid", "bad MTU %g", mtu);
  ifc->mtu = (int)mtu;
  if (parse_addr(ll, &a, 1))
    return -1;
  if (!a.v6 || !is_linklocal6(a.b))
    return fail("invalid", "not an IPv6 link-local address: %s", ll);
  ifc->nbase = 0;
  ifc->base[ifc->nbase++] = a;
  struct jv *list = jget(spec, "addresses");
  for (struct jv *v = list ? list->kids : NULL; v; v = v->next) {
    if (v->type != J_STR)
      return fail("invalid", "addresses are strings");
    if (parse_addr(v->str, &a, 1))
      return -1;
    if (ifc->nbase == MAX_ADDRS)
      return fail("unsupported", "the shim keeps at most %d addresses per interface", MAX_ADDRS);
    ifc->base[ifc->nbase++] = a;
  }
  ifc->seen = 1;
  return 0;
}

/* True if a is the Subnet-Router anycast address of base's prefix, which
 * NetBSD adds itself when it forwards IPv6 (in6_update_ifa). */
static int subnet_anycast(const struct addr *a, const struct addr *base)
{
  uint8_t mask[16];
  if (!a->v6 || !base->v6 || base->plen >= 127 || is_linklocal6(base->b))
    return 0;
  mask_bytes(base->plen, 1, mask);
  for (int i = 0; i < 16; i++)
    if (a->b[i] != (base->b[i] & mask[i]))
      return 0;
  return 1;
}

/* False for an IPv6 address NetBSD does not use as it is: tentative (a DAD
 * a test switched on still running), duplicated, or detached (its link went
 * down); restore_interfaces adds it afresh. */
static int usable6(struct iface *ifc, const struct addr *a)
{
  struct nb_in6_ifreq ifr;
  if (!a->v6)
    return 1;
  memset(&ifr, 0, sizeof ifr);
  snprintf(ifr.name, sizeof ifr.name, "%s", ifc->rname);
  sin6_set(&ifr.u.addr, a->b, 0);
  if (rump_sys_ioctl(sock6, NB_IOCTL(NB_SIOCGIFAFLAG_IN6), &ifr) < 0)
    return 1;
  return !(ifr.u.flags6 & (NB_IN6_IFF_TENTATIVE | NB_IN6_IFF_DUPLICATED | NB_IN6_IFF_DETACHED));
}

/* Bring addresses, MTU and link state back to the baseline, changing only
 * what differs. */
static int restore_interfaces(void)
{
  struct held now[128];
  int n = addrs_now(now, 128);
  if (n < 0)
    return sysfail("listing addresses");
  for (int i = 0; i < nifs; i++) {
    struct iface *ifc = &ifs[i];
    if (iface_set_up(ifc, 1) || iface_set_mtu(ifc, ifc->mtu))
      return -1;
    for (int k = 0; k < n; k++) {
      if (now[k].ifc != ifc)
        continue;
      int keep = 0;
      for (int j = 0; j < ifc->nbase; j++)
        keep |= (addr_eq(&now[k].a, &ifc->base[j]) && now[k].a.plen == ifc->base[j].plen) ||
                subnet_anycast(&now[k].a, &ifc->base[j]);
      keep = keep && usable6(ifc, &now[k].a);
      if (!keep && debug)
        fprintf(stderr, "rump-dut: reset: removing %s/%d from %s\n",
                addr_text(&now[k].a, (char[INET6_ADDRSTRLEN]){0}, INET6_ADDRSTRLEN), now[k].a.plen, ifc->name);
      if (!keep && addr_del(ifc, &now[k].a))
        return -1;
      if (!keep)
        now[k].ifc = NULL;
    }
    for (int j = 0; j < ifc->nbase; j++) {
      int have = 0;
      for (int k = 0; k < n; k++)
        have |= now[k].ifc == ifc && addr_eq(&now[k].a, &ifc->base[j]) &&
                now[k].a.plen == ifc->base[j].plen;
      if (!have && debug)
        fprintf(stderr, "rump-dut: reset: adding %s/%d to %s\n",
                addr_text(&ifc->base[j], (char[INET6_ADDRSTRLEN]){0}, INET6_ADDRSTRLEN), ifc->base[j].plen, ifc->name);
      if (!have && addr_add(ifc, &ifc->base[j]))
        return -1;
    }
  }
  return 0;
}

static int restore_routes(void)
{
  if (rt_walk(NB_AF_INET, NB_NET_RT_DUMP, 0, route_flush_one, NULL) < 0 ||
      rt_walk(NB_AF_INET6, NB_NET_RT_DUMP, 0, route_flush_one, NULL) < 0)
    return -1;
  for (int i = 0; i < nbase_routes; i++)
    if (route_msg(&base_routes[i], NB_RTM_ADD))
      return -1;
  return 0;
}

/* Empty the fast-forwarding flow caches (ipflow, ip6flow): writing a hash
 * size, even the same one, invalidates every flow.  A flow keeps the route
 * it was made with and its packets skip neighbour resolution (for IPv6,
 * ether_output only looks the neighbour up), so after the neighbour flush a
 * flow from the previous test would silently drop the next one's packets. */
static int flush_flows(void)
{
  static const char *const names[] = {"net.inet.ip.hashsize", "net.inet6.ip6.hashsize"};
  char size[32];
  for (int i = 0; i < 2; i++)
    if (sysctl_text(names[i], NULL, size, sizeof size) || sysctl_text(names[i], size, NULL, 0))
      return -1;
  return 0;
}

static uint64_t ras_taken;   /* the advertisements ICMPv6 had taken in at the last reset */

/* Forget what Router Advertisements taught the kernel since the last reset:
 * its Default Router List (and the default route it installed: a route
 * flush alone would leave the router listed as installed, so the next
 * advertisement would install nothing) and its Prefix List (on-link routes,
 * addresses formed from the prefixes).  NetBSD flushes prefixes only all at
 * once (SIOCSPFXFLUSH_IN6, as ndp -P), which also takes the routes of the
 * baseline addresses' own prefixes away; so those addresses go too, and
 * restore_interfaces adds them afresh.  A router's kernel ignores
 * advertisements (accept_rtadv 0): its addresses stay. */
static int forget_router_advertisements(void)
{
  static uint64_t stats[NB_ICMP6_NSTATS];
  static struct mib m;
  size_t size = sizeof stats;
  struct nb_in6_ifreq r;
  struct held now[128];
  int n;
  /* the Router Advertisements ICMPv6 input has taken in, reassembled ones too */
  if ((!m.len && mib_lookup("net.inet6.icmp6.stats", &m) < 0) ||
      rump_sys___sysctl(m.name, m.len, stats, &size, NULL, 0) < 0 || size != sizeof stats)
    return sysfail("reading net.inet6.icmp6.stats");
  if (stats[NB_ICMP6_STAT_INHIST + NB_ND_ROUTER_ADVERT] == ras_taken)
    return 0;
  ras_taken = stats[NB_ICMP6_STAT_INHIST + NB_ND_ROUTER_ADVERT];
  memset(&r, 0, sizeof r);
  snprintf(r.name, sizeof r.name, "%s", ifs[0].rname);
  if (rump_sys_ioctl(sock6, NB_IOCTL(NB_SIOCSRTRFLUSH_IN6), &r) < 0)
    return sysfail("SIOCSRTRFLUSH_IN6");
  if (base_forwarding[1])
    return 0;
  if (rump_sys_ioctl(sock6, NB_IOCTL(NB_SIOCSPFXFLUSH_IN6), &r) < 0)
    return sysfail("SIOCSPFXFLUSH_IN6");
  if ((n = addrs_now(now, 128)) < 0)
    return sysfail("listing addresses");
  for (int k = 0; k < n; k++)
    if (now[k].a.v6 && !is_linklocal6(now[k].a.b) && addr_del(now[k].ifc, &now[k].a))
      return -1;
  return 0;
}

struct injection {
  struct iface *ifc;
  uint8_t frame[14 + 40 + 16 + 8];
};

/* Hand one frame to the kernel as if virtN had received it. */
static void *inject(void *arg)
{
  struct injection *j = arg;
  struct iovec iov = {.iov_base = j->frame, .iov_len = sizeof j->frame};
  rumpuser_component_kthread();
  rumpuser_component_schedule(NULL);
  rump_virtif_virt_deliverpkt(j->ifc->sc, &iov, 1);
  rumpuser_component_unschedule();
  rumpuser_component_kthread_release();
  return NULL;
}

/* A Router Advertisement for the kernel alone (never on the wire): from
 * fe80::ffff:ffff:ffff:fffe (no router of the topology), router lifetime 0
 * (no default router), nothing but an MTU option of mtu. */
static void restoring_ra(uint8_t *f, int mtu)
{
  static const uint8_t head[14 + 40] = {
    0x33, 0x33, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 0, 0x86, 0xdd,
    0x60, 0, 0, 0, 0, 24, 58, 255,
    0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  uint8_t *icmp = f + 14 + 40;
  uint32_t sum = 24 + 58;
  memcpy(f, head, sizeof head);
  memset(icmp, 0, 24);
  icmp[0] = NB_ND_ROUTER_ADVERT;
  icmp[16] = 5;                                    /* ND_OPT_MTU, 8 octets */
  icmp[17] = 1;
  icmp[20] = (uint8_t)(mtu >> 24);
  icmp[21] = (uint8_t)(mtu >> 16);
  icmp[22] = (uint8_t)(mtu >> 8);
  icmp[23] = (uint8_t)mtu;
  for (int i = 14 + 8; i < 14 + 40 + 24; i += 2)   /* pseudo-header addresses, message */
    sum += (uint32_t)(f[i] << 8 | f[i + 1]);
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  icmp[2] = (uint8_t)(~sum >> 8);
  icmp[3] = (uint8_t)~sum;
}

/* Bring back the LinkMTU an advertisement's MTU option lowered.
 * SIOCSIFINFO_IN6 can lower nd_ifinfo.linkmtu but never raise it; only
 * another advertisement can, so the kernel gets one carrying the interface
 * MTU (which NetBSD then uses, as with no LinkMTU at all). */
static int restore_link_mtus(void)
{
  for (int i = 0; i < nifs; i++) {
    struct iface *ifc = &ifs[i];
    struct nb_in6_ndireq nd;
    struct injection j = {.ifc = ifc};
    pthread_t t;
    memset(&nd, 0, sizeof nd);
    if (nd_info(ifc, &nd, 0) < 0)
      return sysfail("SIOCGIFINFO_IN6 %s", ifc->rname);
    if (!nd.ndi.linkmtu || (int)nd.ndi.linkmtu >= ifc->mtu)
      continue;
    if (debug)
      fprintf(stderr, "rump-dut: reset: link MTU %u on %s back to %d\n", nd.ndi.linkmtu, ifc->name,
              ifc->mtu);
    restoring_ra(j.frame, ifc->mtu);
    if (sysctl_set_int("net.inet6.ip6.accept_rtadv", 1) || pthread_create(&t, NULL, inject, &j))
      return fail("failed", "cannot hand %s an advertisement", ifc->rname);
    pthread_join(t, NULL);
    for (int tries = 0; tries < 100 && (int)nd.ndi.linkmtu < ifc->mtu; tries++) {
      sleep_s(0.005);
      if (nd_info(ifc, &nd, 0) < 0)
        return sysfail("SIOCGIFINFO_IN6 %s", ifc->rname);
    }
    if (set_forwarding(1, base_forwarding[1]))
      return -1;
    if ((int)nd.ndi.linkmtu < ifc->mtu)
      return fail("failed", "%s keeps the link MTU %u an advertisement gave it", ifc->rname,
                  nd.ndi.linkmtu);
    ras_taken++;   /* not one to forget at the next reset */
  }
  return 0;
}

/* Bring back each interface's ND settings (SIOCSIFINFO_IN6): the
 * BaseReachableTime, RetransTimer and CurHopLimit knobs and advertisements
 * change, and its flags: a duplicated link-local address formed from the
 * MAC switches IPv6 off (ND6_IFF_IFDISABLED, nd6_dad_duplicated), which
 * NetBSD lifts only once no link-local address is duplicated any more, so
 * after restore_interfaces. */
static int restore_nd(void)
{
  for (int i = 0; i < nifs; i++) {
    struct iface *ifc = &ifs[i];
    struct nb_in6_ndireq nd;
    memset(&nd, 0, sizeof nd);
    if (nd_info(ifc, &nd, 0) < 0)
      return sysfail("SIOCGIFINFO_IN6 %s", ifc->rname);
    if (nd.ndi.basereachable == ifc->nd_base.basereachable &&
        nd.ndi.retrans == ifc->nd_base.retrans && nd.ndi.chlim == ifc->nd_base.chlim &&
        nd.ndi.flags == ifc->nd_base.flags)
      continue;
    nd.ndi.basereachable = ifc->nd_base.basereachable;
    nd.ndi.retrans = ifc->nd_base.retrans;
    nd.ndi.chlim = ifc->nd_base.chlim;
    nd.ndi.flags = ifc->nd_base.flags;
    nd.ndi.reachable = 0;
    if (nd_info(ifc, &nd, 1) < 0 || nd_info(ifc, &nd, 0) < 0)
      return sysfail("SIOCSIFINFO_IN6 %s", ifc->rname);
    if (nd.ndi.flags != ifc->nd_base.flags)
      return fail("failed", "%s keeps ND flags %#x, not %#x", ifc->rname, nd.ndi.flags,
                  ifc->nd_base.flags);
  }
  return 0;
}

static int op_configure(const struct jv *req, struct buf *out)
{
  struct jv *v;
  (void)out;
  if (configured)
    return fail("failed", "already configured");
  v = jget(req, "interfaces");
  for (v = v ? v->kids : NULL; v; v = v->next)
    if (configure_iface(v))
      return -1;
  for (int i = 0; i < nifs; i++)
    if (!ifs[i].seen)
      return fail("invalid", "configure does not describe interface %s", ifs[i].name);
  v = jget(req, "routes");
  for (v = v ? v->kids : NULL; v; v = v->next) {
    if (nbase_routes == MAX_ROUTES)
      return fail("unsupported", "at most %d baseline routes", MAX_ROUTES);
    if (v->type != J_OBJ || route_parse(v, &base_routes[nbase_routes], 1))
      return failure.code ? -1 : fail("invalid", "a route is an object");
    nbase_routes++;
  }
  v = jget(req, "forwarding");
  for (v = v ? v->kids : NULL; v; v = v->next)
    if (v->type == J_STR && (!strcmp(v->str, "ipv4") || !strcmp(v->str, "ipv6")))
      base_forwarding[v->str[3] == '6'] = 1;

  /* The baseline's link-locals are the topology's, not NetBSD's own; no
   * duplicate address detection (PROTOCOL.md: every address usable at once). */
  if (sysctl_set_int("net.inet6.ip6.auto_linklocal", 0) || sysctl_set_int("net.inet.ip.dad_count", 0))
    return -1;
  for (int i = 0; i < nifs; i++) {
    struct iface *ifc = &ifs[i];
    struct nb_ifreq ifr;
    snprintf(ifc->rname, sizeof ifc->rname, "virt%d", i);
    memset(&ifr, 0, sizeof ifr);
    if (ifreq_ioctl(ifc, NB_SIOCIFCREATE, &ifr) < 0)
      return sysfail("creating %s for %s", ifc->rname, ifc->name);
    memset(&ifr, 0, sizeof ifr);
    if (ifreq_ioctl(ifc, NB_SIOCGIFINDEX, &ifr) < 0)
      return sysfail("index of %s", ifc->rname);
    ifc->index = ifr.u.value;
    ifc->srcrt = 1;   /* Linux's per-interface default (conf.default) */
    struct nb_in6_ndireq nd;
    memset(&nd, 0, sizeof nd);
    if (nd_info(ifc, &nd, 0) < 0)
      return sysfail("SIOCGIFINFO_IN6 %s", ifc->rname);
    ifc->nd_base = nd.ndi;
  }
  lk = lk_base;
  /* knobs (net.inet6.ip6.dad_count 0), then forwarding, as NetBSD's rc.d
   * does: a router's IPv6 addresses bring their Subnet-Router anycast
   * addresses only if it forwards then */
  if (linux_knobs_apply() || set_forwarding(0, base_forwarding[0]) ||
      set_forwarding(1, base_forwarding[1]) || restore_interfaces() || restore_routes())
    return -1;
  configured = 1;
  return 0;
}

static int op_reset(const struct jv *req, struct buf *out)
{
  struct neigh_walk w = {.flush = 1};
  (void)req;
  (void)out;
  for (int i = 0; i < MAX_LISTENERS; i++)
    if (listeners[i].fd)
      listener_close(&listeners[i]);
  for (int i = nsaved - 1; i >= 0; i--)
    if (sysctl_text(saved[i].name, saved[i].value, NULL, 0))
      return -1;
  nsaved = 0;
  lk = lk_base;
  for (int i = 0; i < nifs; i++)
    ifs[i].srcrt = 1;
  /* knobs first: no DAD for the addresses restore_interfaces adds back */
  if (linux_knobs_apply() || set_forwarding(0, base_forwarding[0]) ||
      set_forwarding(1, base_forwarding[1]) || forget_router_advertisements() ||
      restore_interfaces() || restore_nd() || restore_link_mtus() || restore_routes() ||
      neigh_walk_all(&w, NULL) || flush_flows())
    return -1;
  return 0;
}

static int op_link_set(const struct jv *req, struct buf *out)
{
  struct iface *ifc;
  int up;
  (void)out;
  if (arg_iface(req, &ifc, 1) || arg_bool(req, "up", &up, 1))
    return -1;
  return iface_set_up(ifc, up);
}

static int op_mtu_set(const struct jv *req, struct buf *out)
{
  struct iface *ifc;
  double mtu;
  (void)out;
  if (arg_iface(req, &ifc, 1) || arg_num(req, "mtu", &mtu, 1))
    return -1;
  if (mtu < 68 || mtu > 65535)
    return fail("invalid", "bad MTU %g", mtu);
  return iface_set_mtu(ifc, (int)mtu);
}

static int addr_args(const struct jv *req, struct iface **ifc, struct addr *a)
{
  const char *text;
  if (arg_iface(req, ifc, 1) || arg_str(req, "address", &text, 1) || parse_addr(text, a, 1))
    return -1;
  return 0;
}

static int op_addr_add(const struct jv *req, struct buf *out)
{
  struct iface *ifc;
  struct addr a;
  (void)out;
  if (addr_args(req, &ifc, &a))
    return -1;
  if (iface_holding(&a) == ifc)
    return fail("failed", "%s already has that address", ifc->name);
  return addr_add(ifc, &a);
}

static int op_addr_del(const struct jv *req, struct buf *out)
{
  struct iface *ifc;
  struct addr a;
  char text[INET6_ADDRSTRLEN];
  (void)out;
  if (addr_args(req, &ifc, &a))
    return -1;
  if (iface_holding(&a) != ifc)
    return fail("failed", "%s has no address %s", ifc->name, addr_text(&a, text, sizeof text));
  return addr_del(ifc, &a);
}

static int op_route_add(const struct jv *req, struct buf *out)
{
  struct route r;
  (void)out;
  if (route_parse(req, &r, 1))
    return -1;
  return route_msg(&r, NB_RTM_ADD);
}

static int op_route_del(const struct jv *req, struct buf *out)
{
  struct route r;
  (void)out;
  if (route_parse(req, &r, 0))
    return -1;
  return route_msg(&r, NB_RTM_DELETE);
}

static int op_neigh_list(const struct jv *req, struct buf *out)
{
  struct neigh_walk w = {.out = out, .first = 1};
  if (arg_iface(req, &w.only, 0) < 0)
    return -1;
  bput(out, ",\"neighbors\":[");
  if (neigh_walk_all(&w, NULL))
    return -1;
  bput(out, "]");
  return 0;
}

static int op_neigh_add(const struct jv *req, struct buf *out)
{
  struct iface *ifc;
  const char *text, *mac;
  struct addr a;
  unsigned m[6];
  struct rtmsg msg;
  union nb_sockaddr_any dst, dl;
  (void)out;
  if (arg_iface(req, &ifc, 1) || arg_str(req, "address", &text, 1) ||
      arg_str(req, "mac", &mac, 1) || parse_addr(text, &a, 0))
    return -1;
  if (sscanf(mac, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6)
    return fail("invalid", "not a MAC: %s", mac);
  /* NetBSD keeps lltable entries only for addresses on one of the
   * interface's connected networks (in_lltable_rtcheck, nd6_is_addr_neighbor):
   * arp -s answers "Cannot allocate memory" for any other. */
  if (!on_link(ifc, &a))
    return fail("unsupported", "NetBSD keeps neighbour entries only for addresses on a connected "
                "network of the interface; %s is on none of %s's", text, ifc->name);
  /* as arp -s / ndp -s: a static lltable entry */
  rtmsg_start(&msg, NB_RTM_ADD, NB_RTF_HOST | NB_RTF_STATIC | NB_RTF_LLDATA);
  if (a.v6)
    scope_embed(a.b, ifc->index);
  sockaddr_of(&a, 0, 0, &dst);
  rtmsg_add(&msg, NB_RTA_DST, &dst);
  memset(&dl, 0, sizeof dl);
  dl.dl.len = sizeof dl.dl;
  dl.dl.family = NB_AF_LINK;
  dl.dl.index = (uint16_t)ifc->index;
  dl.dl.type = 6;   /* IFT_ETHER */
  dl.dl.alen = 6;
  for (int i = 0; i < 6; i++)
    dl.dl.data[i] = (uint8_t)m[i];
  rtmsg_add(&msg, NB_RTA_GATEWAY, &dl);
  int e = rtmsg_send(&msg);
  if (e) {
    errno = e;
    return sysfail("adding neighbour %s on %s", text, ifc->name);
  }
  return 0;
}

static int op_neigh_flush(const struct jv *req, struct buf *out)
{
  struct neigh_walk w = {.flush = 1};
  const char *family = NULL;
  (void)out;
  if (arg_iface(req, &w.only, 0) < 0 || arg_str(req, "family", &family, 0) < 0)
    return -1;
  if (family && strcmp(family, "ipv4") && strcmp(family, "ipv6"))
    return fail("invalid", "family is ipv4 or ipv6");
  return neigh_walk_all(&w, family);
}

static int op_forwarding_set(const struct jv *req, struct buf *out)
{
  const char *family;
  int enabled;
  (void)out;
  if (arg_str(req, "family", &family, 1) || arg_bool(req, "enabled", &enabled, 1))
    return -1;
  if (strcmp(family, "ipv4") && strcmp(family, "ipv6"))
    return fail("invalid", "family is ipv4 or ipv6");
  return set_forwarding(family[3] == '6', enabled);
}

static int port_arg(const struct jv *req, const char *key, uint16_t *port, int required)
{
  double n;
  int rc = arg_num(req, key, &n, required);
  if (rc)
    return rc;
  if (n < 1 || n > 65535 || n != (int)n)
    return fail("invalid", "bad %s", key);
  *port = (uint16_t)n;
  return 0;
}

static int hexval(char c)
{
  return c >= '0' && c <= '9' ? c - '0' : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10 : -1;
}

static int udp_socket(int v6, uint16_t port)
{
  int one = 1, big = 1 << 20;
  int fd = rump_sys_socket(v6 ? NB_AF_INET6 : NB_AF_INET, NB_SOCK_DGRAM, NB_IPPROTO_UDP);
  if (fd < 0)
    return sysfail("UDP socket");
  rump_sys_setsockopt(fd, NB_SOL_SOCKET, NB_SO_RCVBUF, &big, sizeof big);
  if (v6)
    rump_sys_setsockopt(fd, NB_IPPROTO_IPV6, NB_IPV6_V6ONLY, &one, sizeof one);
  if (port) {
    struct addr any = {.v6 = v6};
    union nb_sockaddr_any sa;
    unsigned salen = sockaddr_of(&any, port, 0, &sa);
    rump_sys_setsockopt(fd, NB_SOL_SOCKET, NB_SO_REUSEADDR, &one, sizeof one);
    rump_sys_setsockopt(fd, NB_SOL_SOCKET, NB_SO_REUSEPORT, &one, sizeof one);
    if (rump_sys_bind(fd, (struct sockaddr *)&sa, salen) < 0) {
      sysfail("UDP port %u", port);
      rump_sys_close(fd);
      return -1;
    }
  }
  return fd;
}

static int op_udp_send(const struct jv *req, struct buf *out)
{
  const char *dest, *hex;
  uint16_t port, sport = 0;
  struct addr dst;
  (void)out;
  if (arg_str(req, "destination", &dest, 1) || port_arg(req, "port", &port, 1) ||
      arg_str(req, "payload", &hex, 1) || port_arg(req, "source_port", &sport, 0) < 0 ||
      parse_addr(dest, &dst, 0))
    return -1;
  size_t len = strlen(hex) / 2;
  if (strlen(hex) % 2 || len > 65507)
    return fail("invalid", "payload is hex of at most 65507 bytes");
  uint8_t *data = malloc(len + 1);
  for (size_t i = 0; i < len; i++) {
    int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      free(data);
      return fail("invalid", "payload is not hex");
    }
    data[i] = (uint8_t)(hi << 4 | lo);
  }
  int fd = udp_socket(dst.v6, sport);
  if (fd < 0) {
    free(data);
    return -1;
  }
  int big = 1 << 20;
  rump_sys_setsockopt(fd, NB_SOL_SOCKET, NB_SO_SNDBUF, &big, sizeof big);
  union nb_sockaddr_any to;
  unsigned tolen = sockaddr_of(&dst, port, dst.v6 && is_scoped6(dst.b) ? ifs[0].index : 0, &to);
  ssize_t n = rump_sys_sendto(fd, data, len, 0, (struct sockaddr *)&to, tolen);
  int rc = n < 0 ? sysfail("sending to %s port %u", dest, port) : 0;
  rump_sys_close(fd);
  free(data);
  return rc;
}

static int op_udp_listen(const struct jv *req, struct buf *out)
{
  const char *family;
  uint16_t port;
  int i;
  if (port_arg(req, "port", &port, 1) || arg_str(req, "family", &family, 1))
    return -1;
  int v6 = !strcmp(family, "ipv6");
  if (!v6 && strcmp(family, "ipv4"))
    return fail("invalid", "family is ipv4 or ipv6");
  for (i = 0; i < MAX_LISTENERS && listeners[i].fd; i++)
    ;
  if (i == MAX_LISTENERS)
    return fail("failed", "too many listeners");
  int fd = udp_socket(v6, port);
  if (fd < 0)
    return -1;
  listeners[i].fd = fd + 1;
  listeners[i].v6 = v6;
  bput(out, ",\"handle\":%d", i + 1);
  return 0;
}

static struct listener *handle_arg(const struct jv *req)
{
  double h;
  if (arg_num(req, "handle", &h, 1))
    return NULL;
  if (h < 1 || h > MAX_LISTENERS || h != (int)h || !listeners[(int)h - 1].fd) {
    fail("invalid", "no listener %g", h);
    return NULL;
  }
  return &listeners[(int)h - 1];
}

static int op_udp_receive(const struct jv *req, struct buf *out)
{
  double timeout;
  static uint8_t data[65536];
  struct listener *l = handle_arg(req);
  if (!l || arg_num(req, "timeout", &timeout, 1))
    return -1;
  if (timeout < 0 || timeout > 3600)
    return fail("invalid", "bad timeout");
  sleep_s(timeout);   /* like the Linux adapter: all that arrive in time */
  bput(out, ",\"datagrams\":[");
  for (int first = 1;; first = 0) {
    union nb_sockaddr_any from;
    uint32_t fromlen = sizeof from;
    struct addr src;
    char text[INET6_ADDRSTRLEN];
    memset(&from, 0, sizeof from);
    ssize_t n = rump_sys_recvfrom(l->fd - 1, data, sizeof data, NB_MSG_DONTWAIT,
                                  (struct sockaddr *)&from, &fromlen);
    if (n < 0) {
      if (errno != 35)   /* NetBSD's EAGAIN */
        fprintf(stderr, "rump-dut: udp_receive: %s\n", strerror(rump_errno2host(errno)));
      break;
    }
    if (addr_of_sockaddr(&from.sa, &src) < 0)
      continue;
    uint16_t port = ntohs(from.in.port);   /* same offset in both families */
    bput(out, "%s{\"source\":\"%s\",\"port\":%u,\"data\":\"", first ? "" : ",",
         addr_text(&src, text, sizeof text), port);
    for (ssize_t i = 0; i < n; i++)
      bput(out, "%02x", data[i]);
    bput(out, "\"}");
  }
  bput(out, "]");
  return 0;
}

static int op_udp_close(const struct jv *req, struct buf *out)
{
  struct listener *l = handle_arg(req);
  (void)out;
  if (!l)
    return -1;
  listener_close(l);
  return 0;
}

static int op_knob_set(const struct jv *req, struct buf *out)
{
  const char *name, *value;
  struct jv *v = jget(req, "value");
  char num[32];
  if (arg_str(req, "name", &name, 1))
    return -1;
  if (v && v->type == J_NUM) {   /* tolerate a number where text is meant */
    snprintf(num, sizeof num, "%.0f", v->num);
    value = num;
  } else if (arg_str(req, "value", &value, 1)) {
    return -1;
  }
  return knob(name, value, out);
}

static int op_knob_get(const struct jv *req, struct buf *out)
{
  const char *name;
  if (arg_str(req, "name", &name, 1))
    return -1;
  return knob(name, NULL, out);
}

static const struct op {
  const char *name;
  int (*run)(const struct jv *req, struct buf *out);
  int needs_configure;
} ops[] = {
  {"hello", op_hello, 0},
  {"configure", op_configure, 0},
  {"reset", op_reset, 1},
  {"link_set", op_link_set, 1},
  {"mtu_set", op_mtu_set, 1},
  {"addr_add", op_addr_add, 1},
  {"addr_del", op_addr_del, 1},
  {"route_add", op_route_add, 1},
  {"route_del", op_route_del, 1},
  {"neigh_list", op_neigh_list, 1},
  {"neigh_add", op_neigh_add, 1},
  {"neigh_flush", op_neigh_flush, 1},
  {"forwarding_set", op_forwarding_set, 1},
  {"echo", op_echo, 1},
  {"udp_send", op_udp_send, 1},
  {"udp_listen", op_udp_listen, 1},
  {"udp_receive", op_udp_receive, 1},
  {"udp_close", op_udp_close, 1},
  {"knob_set", op_knob_set, 1},
  {"knob_get", op_knob_get, 1},
};

/* RUMP_DUT_DEBUG=1: an operation still running after 0.8 s gets every
 * thread's backtrace written to the log (gdb), to see where the kernel hangs. */
static struct {
  pthread_mutex_t mu;
  pthread_cond_t cond;
  const char *op;                 /* running now, or NULL */
  unsigned long serial;
} watch = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, 0};

static void *watchdog(void *unused)
{
  (void)unused;
  pthread_mutex_lock(&watch.mu);
  for (;;) {
    while (!watch.op)
      pthread_cond_wait(&watch.cond, &watch.mu);
    unsigned long serial = watch.serial;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 300000000;
    if (until.tv_nsec >= 1000000000) {
      until.tv_sec++;
      until.tv_nsec -= 1000000000;
    }
    while (watch.op && watch.serial == serial &&
           pthread_cond_timedwait(&watch.cond, &watch.mu, &until) == 0)
      ;
    if (watch.op && watch.serial == serial) {
      char cmd[128];
      fprintf(stderr, "rump-dut: %s still running after 0.3 s; backtraces:\n", watch.op);
      snprintf(cmd, sizeof cmd, "gdb -nx -batch -p %d -ex 'thread apply all bt' >&2 2>/dev/null",
               (int)getpid());
      if (system(cmd) != 0)
        fprintf(stderr, "rump-dut: gdb failed\n");
      while (watch.op && watch.serial == serial)
        pthread_cond_wait(&watch.cond, &watch.mu);
    }
  }
  return NULL;
}

static void watch_op(const char *op)
{
  pthread_mutex_lock(&watch.mu);
  watch.op = op;
  watch.serial++;
  pthread_cond_broadcast(&watch.cond);
  pthread_mutex_unlock(&watch.mu);
}

static void handle(const char *line, struct buf *response)
{
  struct buf out = {0};
  struct jv *req = jparse(line);
  const char *name = NULL;
  int rc;
  failure.code = NULL;
  bput(&out, "%s", "");
  if (!req || req->type != J_OBJ || arg_str(req, "op", &name, 1)) {
    rc = fail("invalid", req ? "a request is an object with an op" : "not JSON");
  } else {
    const struct op *op = NULL;
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
      if (!strcmp(ops[i].name, name))
        op = &ops[i];
    if (!op)
      rc = fail("unsupported", "rump has no operation %s", name);
    else if (op->needs_configure && !configured)
      rc = fail("failed", "not configured yet");
    else {
      double started = now_s();
      watch_op(strcmp(op->name, "echo") && strcmp(op->name, "udp_receive") ? op->name : NULL);
      rc = op->run(req, &out);
      watch_op(NULL);
      if (now_s() - started > 0.5 && strcmp(op->name, "echo") && strcmp(op->name, "udp_receive"))
        fprintf(stderr, "rump-dut: %s took %.3f s\n", op->name, now_s() - started);
    }
  }
  if (rc == 0) {
    bput(response, "{\"ok\":true%s}", out.s);
  } else {
    if (!failure.code)
      fail("failed", "internal error");
    fprintf(stderr, "rump-dut: %s: %s: %s\n", name ? name : "?", failure.code, failure.text);
    bput(response, "{\"ok\":false,\"code\":\"%s\",\"error\":", failure.code);
    bstr(response, failure.text);
    bput(response, "}");
  }
  free(out.s);
  jfree(req);
}

static void on_sigterm(int sig)
{
  (void)sig;
  _exit(0);
}

/* Boot the rump kernel and read its version. */
static int boot(void)
{
  int mib[2] = {1, 2};   /* CTL_KERN, KERN_OSRELEASE */
  char release[64] = "?";
  size_t size = sizeof release;
  setenv("RUMP_NCPU", getenv("RUMP_DUT_NCPU") ? getenv("RUMP_DUT_NCPU") : "1", 1);
  if (rump_init() != 0) {
    fprintf(stderr, "rump-dut: rump_init failed\n");
    return -1;
  }
  rump_sys___sysctl(mib, 2, release, &size, NULL, 0);
  snprintf(version, sizeof version, "NetBSD %s rump (src %s)", release, SRC_REV);
  return 0;
}

int main(int argc, char **argv)
{
  const char *control = NULL;

  prctl(PR_SET_PDEATHSIG, SIGKILL);
  signal(SIGTERM, on_sigterm);
  signal(SIGPIPE, SIG_IGN);
  if (argc == 2 && !strcmp(argv[1], "--version")) {
    if (boot())
      return 1;
    printf("%s\n", version);
    return 0;
  }
  dup2(2, 1);   /* the rump kernel prints on stdout: send it to the log, */
  setvbuf(stdout, NULL, _IOLBF, 0);   /* a line at a time (a panic's too) */
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--control") && i + 1 < argc)
      control = argv[++i];
    else if (nifs < MAX_IFS && strlen(argv[i]) < IFNAMSIZ)
      strcpy(ifs[nifs++].name, argv[i]);
    else
      control = NULL, i = argc;
  }
  if (!control || !nifs) {
    fprintf(stderr, "usage: rump-dut --control PATH IFNAME... (at most %d) | rump-dut --version\n",
            MAX_IFS);
    return 2;
  }
  for (int i = 0; i < nifs; i++)
    if (iface_open(&ifs[i]))
      return 1;
  if (boot())
    return 1;
  sock4 = rump_sys_socket(NB_AF_INET, NB_SOCK_DGRAM, 0);
  sock6 = rump_sys_socket(NB_AF_INET6, NB_SOCK_DGRAM, 0);
  if (sock4 < 0 || sock6 < 0) {
    fprintf(stderr, "rump-dut: sockets: %s\n", strerror(rump_errno2host(errno)));
    return 1;
  }

  int srv = control_listen(control);
  if (srv < 0) {
    fprintf(stderr, "rump-dut: control socket %s: %s\n", control, strerror(errno));
    return 1;
  }
  if ((debug = getenv("RUMP_DUT_DEBUG") ? atoi(getenv("RUMP_DUT_DEBUG")) : 0)) {
    pthread_t t;
    prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY);
    pthread_create(&t, NULL, watchdog, NULL);
  }
  fprintf(stderr, "rump-dut: %s, %s, on %d interface(s), control %s\n", version, REVISIONS, nifs, control);
  serve_forever(srv);
}
