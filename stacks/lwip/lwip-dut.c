/*
 * lwip-dut: the testbed shim for lwIP 2.1.3 as Debian builds it (liblwip0).
 *
 *     lwip-dut --control PATH IFNAME...
 *
 * One lwIP netif per interface named on the command line, each bridged to a
 * raw AF_PACKET socket on that interface.  lwIP's tcpip thread runs the
 * stack; one receive thread feeds it frames; the main thread serves the
 * JSON-lines control protocol of stacks/PROTOCOL.md on the UNIX socket PATH
 * and holds the tcpip core lock around every call into lwIP.
 *
 * Compiled against the headers of liblwip-dev, whose lwipopts.h and
 * arch/cc.h are the ones the library was built with (Debian's Hurd port:
 * IP_FORWARD=1, LWIP_IPV6_FORWARD=1, LWIP_TCPIP_CORE_LOCKING=1,
 * ETHARP_SUPPORT_STATIC_ENTRIES left at 0).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lwip/etharp.h"
#include "lwip/ethip6.h"
#include "lwip/inet_chksum.h"
#include "lwip/init.h"
#include "lwip/ip.h"
#include "lwip/nd6.h"
#include "lwip/netif.h"
#include "lwip/priv/nd6_priv.h"
#include "lwip/prot/icmp.h"
#include "lwip/prot/icmp6.h"
#include "lwip/raw.h"
#include "lwip/tcpip.h"
#include "lwip/udp.h"

#define MAX_IFS 8
#define MAX_LISTENERS 32
#define FRAME_MAX 65535   /* the largest pbuf */

#include "../common/shim.h"

/* ------------------------------------------------------------------------
 * Interfaces: a netif on an AF_PACKET socket.
 */

/* One DUT interface, and its baseline from `configure`. */
struct iface {
  char name[IFNAMSIZ];
  int fd;                         /* AF_PACKET socket bound to the interface */
  struct netif netif;
  int seen;                       /* described by configure */
  int added;                      /* netif_add done (atomic: read by rx_loop) */
  int up;                         /* administratively up (atomic: read by rx_loop) */
  u8_t mac[ETH_HWADDR_LEN];
  u16_t mtu;
  ip4_addr_t ip4, mask4;          /* 0.0.0.0 when the baseline has none */
  ip6_addr_t ip6[LWIP_IPV6_NUM_ADDRESSES];   /* [0]: link-local */
  int n6;
};

static struct iface ifs[MAX_IFS];
static int nifs;

/* The baseline's default route (lwIP's one: netif_default and its gateway). */
static struct {
  struct iface *via;
  ip4_addr_t gw;
} base_default;

static struct iface *iface_named(const char *name)
{
  for (int i = 0; i < nifs; i++)
    if (!strcmp(ifs[i].name, name))
      return &ifs[i];
  return NULL;
}

static struct iface *iface_of(const struct netif *n)
{
  for (int i = 0; i < nifs; i++)
    if (&ifs[i].netif == n)
      return &ifs[i];
  return NULL;
}

/* The interface named by argument "interface": 0, or fail (-1); 1 if absent. */
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

/* netif linkoutput: one frame out of the AF_PACKET socket.  Runs with the
 * core lock held, so one buffer serves every interface. */
static err_t link_output(struct netif *n, struct pbuf *p)
{
  static u8_t frame[FRAME_MAX];
  struct iface *ifc = n->state;
  u16_t len = pbuf_copy_partial(p, frame, sizeof frame, 0);
  if (send(ifc->fd, frame, len, 0) < 0) {
    fprintf(stderr, "lwip-dut: %s: send %u bytes: %s\n", ifc->name, len, strerror(errno));
    return ERR_IF;
  }
  return ERR_OK;
}

/* netif init callback (from netif_add): an Ethernet NIC with our MAC. */
static err_t iface_init(struct netif *n)
{
  struct iface *ifc = n->state;
  n->name[0] = 'e';
  n->name[1] = (char)('0' + (ifc - ifs));
  n->hwaddr_len = ETH_HWADDR_LEN;
  memcpy(n->hwaddr, ifc->mac, ETH_HWADDR_LEN);
  n->mtu = ifc->mtu;
  n->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET |
             NETIF_FLAG_IGMP | NETIF_FLAG_MLD6;
  n->output = etharp_output;
  n->output_ip6 = ethip6_output;
  n->linkoutput = link_output;
  return ERR_OK;
}

/* Open the AF_PACKET socket of ifc: it hears nothing until bound, then
 * only its interface, and not its own outgoing frames. */
static int iface_open(struct iface *ifc)
{
  int one = 1;
  struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = PP_HTONS(ETH_P_ALL)};
  sll.sll_ifindex = (int)if_nametoindex(ifc->name);
  ifc->fd = socket(AF_PACKET, SOCK_RAW, 0);
  if (!sll.sll_ifindex || ifc->fd < 0 ||
      setsockopt(ifc->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) < 0 ||
      bind(ifc->fd, (struct sockaddr *)&sll, sizeof sll) < 0) {
    fprintf(stderr, "lwip-dut: %s: %s\n", ifc->name, strerror(errno ? errno : ENODEV));
    return -1;
  }
  return 0;
}

/* The receive thread: frames from every socket into lwIP, filtered like a
 * NIC (unicast to other MACs and anything while down are dropped). */
static void *rx_loop(void *unused)
{
  static u8_t frame[FRAME_MAX];
  struct pollfd pfd[MAX_IFS];
  (void)unused;
  for (int i = 0; i < nifs; i++)
    pfd[i] = (struct pollfd){.fd = ifs[i].fd, .events = POLLIN};
  for (;;) {
    if (poll(pfd, (nfds_t)nifs, -1) < 0)
      continue;
    for (int i = 0; i < nifs; i++) {
      struct iface *ifc = &ifs[i];
      struct sockaddr_ll from;
      socklen_t fromlen = sizeof from;
      if (!(pfd[i].revents & POLLIN))
        continue;
      ssize_t n = recvfrom(ifc->fd, frame, sizeof frame, MSG_DONTWAIT,
                           (struct sockaddr *)&from, &fromlen);
      if (n <= 0 || from.sll_pkttype == PACKET_OTHERHOST ||
          from.sll_pkttype == PACKET_OUTGOING ||
          !__atomic_load_n(&ifc->added, __ATOMIC_ACQUIRE) ||
          !__atomic_load_n(&ifc->up, __ATOMIC_RELAXED))
        continue;
      struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)n, PBUF_RAM);
      if (!p)
        continue;
      pbuf_take(p, frame, (u16_t)n);
      if (ifc->netif.input(p, &ifc->netif) != ERR_OK)
        pbuf_free(p);
    }
  }
  return NULL;
}

/* ------------------------------------------------------------------------
 * Addresses.
 */

/* Parse "addr" or "addr/len" (when plen is given, the length is required). */
static int parse_addr(const char *text, ip_addr_t *addr, int *plen)
{
  char copy[80];
  snprintf(copy, sizeof copy, "%s", text);
  char *slash = strchr(copy, '/');
  if (slash)
    *slash++ = 0;
  if (!ipaddr_aton(copy, addr) || (slash != NULL) != (plen != NULL))
    return fail("invalid", "not an address%s: %s", plen ? " with a prefix length" : "", text);
  if (plen) {
    char *end;
    long n = strtol(slash, &end, 10);
    if (*end || end == slash || n < 0 || n > (IP_IS_V6(addr) ? 128 : 32))
      return fail("invalid", "bad prefix length: %s", text);
    *plen = (int)n;
  }
  return 0;
}

/* An address as text in the usual form (lower case, RFC 5952): lwIP's own
 * ntoa writes IPv6 in upper case. */
static char *addr_text(const ip_addr_t *a, char *buf, socklen_t size)
{
  if (IP_IS_V6(a))
    return (char *)inet_ntop(AF_INET6, ip_2_ip6(a)->addr, buf, size);
  return (char *)inet_ntop(AF_INET, &ip_2_ip4(a)->addr, buf, size);
}

static void mask_of(int plen, ip4_addr_t *mask)
{
  ip4_addr_set_u32(mask, plen ? lwip_htonl(0xffffffffu << (32 - plen)) : 0);
}

static int prefix_len(const ip4_addr_t *mask)
{
  return __builtin_popcount(ip4_addr_get_u32(mask));
}

/* True if a is an address of one of our interfaces. */
static int is_ours(const ip_addr_t *a)
{
  for (int i = 0; i < nifs; i++)
    if (IP_IS_V6(a) ? netif_get_ip6_addr_match(&ifs[i].netif, ip_2_ip6(a)) >= 0
                    : ip4_addr_cmp(netif_ip4_addr(&ifs[i].netif), ip_2_ip4(a)))
      return 1;
  return 0;
}

/* Give a link-local destination without zone the zone of the interface
 * holding `source` (or the first interface): lwIP needs one to route it. */
static void zone_for(ip_addr_t *dst, const ip_addr_t *source)
{
  if (!IP_IS_V6(dst) || !ip6_addr_lacks_zone(ip_2_ip6(dst), IP6_UNICAST))
    return;
  struct netif *n = &ifs[0].netif;
  for (int i = 0; source && i < nifs; i++)
    if (netif_get_ip6_addr_match(&ifs[i].netif, ip_2_ip6(source)) >= 0)
      n = &ifs[i].netif;
  ip6_addr_assign_zone(ip_2_ip6(dst), IP6_UNICAST, n);
}

/* Put IPv6 address a in slot i, usable at once (no DAD, like `nodad`). */
static void ip6_slot_set(struct netif *n, s8_t i, const ip6_addr_t *a)
{
  netif_ip6_addr_set_state(n, i, IP6_ADDR_INVALID);
  netif_ip6_addr_set(n, i, a);
  netif_ip6_addr_set_valid_life(n, i, IP6_ADDR_LIFE_STATIC);
  netif_ip6_addr_set_pref_life(n, i, IP6_ADDR_LIFE_STATIC);
  netif_ip6_addr_set_state(n, i, IP6_ADDR_PREFERRED);
}

/* Bring ifc's addresses, MTU and link state back to its baseline. */
static void iface_restore(struct iface *ifc)
{
  struct netif *n = &ifc->netif;
  if (!netif_is_up(n))
    netif_set_up(n);
  if (!netif_is_link_up(n))
    netif_set_link_up(n);
  __atomic_store_n(&ifc->up, 1, __ATOMIC_RELAXED);
  n->mtu = ifc->mtu;
  n->mtu6 = ifc->mtu;
  if (!ip4_addr_cmp(netif_ip4_addr(n), &ifc->ip4) || !ip4_addr_cmp(netif_ip4_netmask(n), &ifc->mask4))
    netif_set_addr(n, &ifc->ip4, &ifc->mask4, IP4_ADDR_ANY4);
  for (s8_t i = 0; i < LWIP_IPV6_NUM_ADDRESSES; i++) {
    u8_t state = netif_ip6_addr_state(n, i);
    if (i < ifc->n6) {
      if (state != IP6_ADDR_PREFERRED || !ip6_addr_cmp_zoneless(netif_ip6_addr(n, i), &ifc->ip6[i]))
        ip6_slot_set(n, i, &ifc->ip6[i]);
    } else if (state != IP6_ADDR_INVALID) {
      netif_ip6_addr_set_state(n, i, IP6_ADDR_INVALID);
    }
  }
}

/* lwIP's one default route: netif_default and that netif's gateway. */
static void default_route_set(struct iface *via, const ip4_addr_t *gw)
{
  for (int i = 0; i < nifs; i++)
    if (&ifs[i] != via && ifs[i].added)
      netif_set_gw(&ifs[i].netif, IP4_ADDR_ANY4);
  if (via)
    netif_set_gw(&via->netif, gw);
  netif_set_default(via ? &via->netif : NULL);
}

/* A route's destination: lwIP can hold only an IPv4 default route. */
static int route_destination(const struct jv *spec)
{
  const char *dest;
  ip_addr_t d;
  int plen;
  if (arg_str(spec, "destination", &dest, 1) || parse_addr(dest, &d, &plen))
    return -1;
  if (IP_IS_V6(&d))
    return fail("unsupported", "lwIP 2.1 takes IPv6 routes only from Router Advertisements "
                "(a static one needs LWIP_HOOK_ND6_GET_GW, i.e. a rebuild): %s", dest);
  if (plen != 0)
    return fail("unsupported", "lwIP 2.1 has no routing table, only connected networks and one "
                "default gateway (a route to %s needs LWIP_HOOK_IP4_ROUTE, i.e. a rebuild)", dest);
  return 0;
}

/* The address of argument "gateway": 0, 1 if absent, or -1 after fail(). */
static int gateway_arg(const struct jv *spec, ip4_addr_t *gw)
{
  const char *text;
  ip_addr_t g;
  int rc = arg_str(spec, "gateway", &text, 0);
  if (rc)
    return rc;
  if (parse_addr(text, &g, NULL))
    return -1;
  if (!IP_IS_V4(&g))
    return fail("invalid", "an IPv4 route needs an IPv4 gateway: %s", text);
  ip4_addr_copy(*gw, *ip_2_ip4(&g));
  return 0;
}

/* A default route as lwIP holds it: the netif it leaves by and the gateway.
 * The interface, if not named, is the one whose network holds the gateway
 * (its baseline network during configure, its current one afterwards). */
static int route_parse(const struct jv *spec, struct iface **via, ip4_addr_t *gw)
{
  struct iface *ifc = NULL;
  int rc;
  if (route_destination(spec) || arg_iface(spec, &ifc, 0) < 0 || (rc = gateway_arg(spec, gw)) < 0)
    return -1;
  if (rc)
    return fail("unsupported", "lwIP sends off-link traffic only to a gateway; a default route "
                "needs one");
  for (int i = 0; !ifc && i < nifs; i++) {
    const ip4_addr_t *ip = ifs[i].added ? netif_ip4_addr(&ifs[i].netif) : &ifs[i].ip4;
    const ip4_addr_t *mask = ifs[i].added ? netif_ip4_netmask(&ifs[i].netif) : &ifs[i].mask4;
    if (!ip4_addr_isany(ip) && ip4_addr_netcmp(gw, ip, mask))
      ifc = &ifs[i];
  }
  if (!ifc)
    return fail("failed", "gateway %s is on no connected network", ip4addr_ntoa(gw));
  *via = ifc;
  return 0;
}

/* ------------------------------------------------------------------------
 * UDP listeners: datagrams queue up until udp_receive collects them.
 */

struct dgram {
  struct dgram *next;
  char source[IPADDR_STRLEN_MAX];
  u16_t port, len;
  u8_t data[];
};

static struct listener {
  struct udp_pcb *pcb;            /* NULL: slot free */
  struct dgram *head, **tail;
} listeners[MAX_LISTENERS];

static pthread_mutex_t udp_mu = PTHREAD_MUTEX_INITIALIZER;   /* guards the queues */

/* udp_recv callback (tcpip thread): queue a copy of the datagram. */
static void udp_got(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr, u16_t port)
{
  struct listener *l = arg;
  struct dgram *d = malloc(sizeof *d + p->tot_len);
  (void)pcb;
  addr_text(addr, d->source, sizeof d->source);
  d->port = port;
  d->len = pbuf_copy_partial(p, d->data, p->tot_len, 0);
  d->next = NULL;
  pbuf_free(p);
  pthread_mutex_lock(&udp_mu);
  *l->tail = d;
  l->tail = &d->next;
  pthread_mutex_unlock(&udp_mu);
}

/* Close listener l and drop what it queued (core lock held). */
static void listener_close(struct listener *l)
{
  udp_remove(l->pcb);
  pthread_mutex_lock(&udp_mu);
  for (struct dgram *d = l->head, *next; d; d = next) {
    next = d->next;
    free(d);
  }
  memset(l, 0, sizeof *l);
  pthread_mutex_unlock(&udp_mu);
}

/* ------------------------------------------------------------------------
 * Echo: ICMP / ICMPv6 echo requests from a raw pcb, and what comes back.
 */

/* One echo run, shared between the main thread and the raw pcb callback. */
static struct echo {
  pthread_mutex_t mu;
  pthread_cond_t cond;
  int v6;
  u16_t id;
  int count, answered;            /* requests sent; seqs with a reply or error */
  double *sent_at;                /* per seq (1-based index - 1), monotonic s */
  char *seen;                     /* per seq: already answered */
  struct buf replies, errors;     /* JSON array members */
} echo = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* Sleep for s seconds. */
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
static void icmp4_words(char *out, size_t size, u8_t type, u8_t code, const u8_t *icmp)
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
  case ICMP_DUR:
    if (code < 16)
      snprintf(out, size, unreach[code], (icmp[6] << 8) | icmp[7]);
    else
      snprintf(out, size, "Dest Unreachable, Bad Code: %d", code);
    break;
  case ICMP_SQ:
    snprintf(out, size, "Source Quench");
    break;
  case ICMP_RD:
    snprintf(gw, sizeof gw, "%u.%u.%u.%u", icmp[4], icmp[5], icmp[6], icmp[7]);
    if (code < 4)
      snprintf(out, size, "%s(New nexthop: %s)", redirect[code], gw);
    else
      snprintf(out, size, "Redirect, Bad Code: %d(New nexthop: %s)", code, gw);
    break;
  case ICMP_TE:
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
static void icmp6_words(char *out, size_t size, u8_t type, u8_t code, const u8_t *icmp)
{
  static const char *const unreach[] = {
    "No route", "Administratively prohibited", "Beyond scope of source address",
    "Address unreachable", "Port unreachable",
    "Source address failed ingress/egress policy", "Reject route to destination"};
  static const char *const param[] = {"Wrong header field ", "Unknown header ", "Unknown option "};
  unsigned info = (unsigned)icmp[4] << 24 | icmp[5] << 16 | icmp[6] << 8 | icmp[7];
  char what[64];
  switch (type) {
  case ICMP6_TYPE_DUR:
    if (code < 7)
      snprintf(what, sizeof what, "%s", unreach[code]);
    else
      snprintf(what, sizeof what, "Unknown code %d", code);
    snprintf(out, size, "Destination unreachable: %s", what);
    break;
  case ICMP6_TYPE_PTB:
    snprintf(out, size, code ? "Packet too big: mtu=%u, code=%d" : "Packet too big: mtu=%u", info, code);
    break;
  case ICMP6_TYPE_TE:
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
static int echo_answer(unsigned seq)
{
  if (seq < 1 || seq > (unsigned)echo.count)
    return 0;
  if (!echo.seen[seq - 1]) {
    echo.seen[seq - 1] = 1;
    echo.answered++;
  }
  pthread_cond_signal(&echo.cond);
  return 1;
}

/* raw pcb callback (tcpip thread): echo replies and ICMP errors quoting one
 * of our requests are ours (eaten); anything else goes on to lwIP. */
static u8_t echo_got(void *arg, struct raw_pcb *pcb, struct pbuf *p, const ip_addr_t *addr)
{
  u8_t b[60 + 8 + 60 + 8];      /* headers: IP, ICMP, quoted IP, quoted ICMP */
  u16_t len = pbuf_copy_partial(p, b, sizeof b, 0);
  unsigned hlen = echo.v6 ? 40 : (b[0] & 0x0fu) * 4, ttl = echo.v6 ? b[7] : b[8];
  char from[IPADDR_STRLEN_MAX], words[96];
  (void)arg;
  (void)pcb;
  if (len < hlen + 8 || (echo.v6 && b[6] != IP6_NEXTH_ICMP6))
    return 0;
  const u8_t *icmp = b + hlen;
  u8_t type = icmp[0];
  int reply = echo.v6 ? type == ICMP6_TYPE_EREP : type == ICMP_ER;
  addr_text(addr, from, sizeof from);
  pthread_mutex_lock(&echo.mu);
  int ours = 0;
  if (reply && ((icmp[4] << 8) | icmp[5]) == echo.id) {
    unsigned seq = (unsigned)(icmp[6] << 8 | icmp[7]);
    if ((ours = echo_answer(seq)))
      bput(&echo.replies, "%s{\"source\":\"%s\",\"seq\":%u,\"ttl\":%u,\"size\":%u,\"rtt_ms\":%.3f}",
           echo.replies.n ? "," : "", from, seq, ttl, p->tot_len - hlen,
           (now_s() - echo.sent_at[seq - 1]) * 1000.0);
  } else if (!reply) {
    /* an error: the quoted header must be one of our echo requests */
    const u8_t *q = icmp + 8;
    unsigned qlen = echo.v6 ? 40 : (q[0] & 0x0fu) * 4;
    int error = echo.v6 ? type >= ICMP6_TYPE_DUR && type <= ICMP6_TYPE_PP
                        : type == ICMP_DUR || type == ICMP_SQ || type == ICMP_RD ||
                          type == ICMP_TE || type == ICMP_PP;
    if (error && len >= hlen + 8 + qlen + 8 &&
        (echo.v6 ? q[6] == IP6_NEXTH_ICMP6 : q[9] == IP_PROTO_ICMP) &&
        q[qlen] == (echo.v6 ? ICMP6_TYPE_EREQ : ICMP_ECHO) &&
        ((q[qlen + 4] << 8) | q[qlen + 5]) == echo.id &&
        (ours = echo_answer((unsigned)(q[qlen + 6] << 8 | q[qlen + 7])))) {
      if (echo.v6)
        icmp6_words(words, sizeof words, type, icmp[1], icmp);
      else
        icmp4_words(words, sizeof words, type, icmp[1], icmp);
      bput(&echo.errors, "%s\"from %s: %s\"", echo.errors.n ? "," : "", from, words);
    }
  }
  pthread_mutex_unlock(&echo.mu);
  if (ours)
    pbuf_free(p);
  return (u8_t)ours;
}

/* ------------------------------------------------------------------------
 * Operations.  Each answers 0 (result fields appended to out) or -1 (fail()).
 * Those marked "locked" in the table run with the tcpip core lock held.
 */

static int configured;

static int op_hello(const struct jv *req, struct buf *out)
{
  (void)req;
  bput(out, ",\"stack\":\"lwip\",\"version\":\"%s\"", LWIP_VERSION_STRING);
  return 0;
}

/* Read one interface of `configure` into its baseline. */
static int configure_iface(const struct jv *spec)
{
  struct iface *ifc;
  const char *name, *mac, *ll;
  double mtu;
  unsigned m[6];
  ip_addr_t a;
  int plen, n4 = 0;
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
    ifc->mac[i] = (u8_t)m[i];
  if (mtu < 68 || mtu > 65535)
    return fail("invalid", "bad MTU %g", mtu);
  ifc->mtu = (u16_t)mtu;
  if (parse_addr(ll, &a, &plen))
    return -1;
  if (!IP_IS_V6(&a) || !ip6_addr_islinklocal(ip_2_ip6(&a)))
    return fail("invalid", "not an IPv6 link-local address: %s", ll);
  ip6_addr_copy(ifc->ip6[0], *ip_2_ip6(&a));
  ifc->n6 = 1;
  struct jv *list = jget(spec, "addresses");
  for (struct jv *v = list ? list->kids : NULL; v; v = v->next) {
    if (v->type != J_STR || parse_addr(v->str, &a, &plen))
      return failure.code ? -1 : fail("invalid", "addresses are strings");
    if (IP_IS_V4(&a)) {
      if (n4++)
        return fail("unsupported", "lwIP has one IPv4 address per interface; %s has two", ifc->name);
      ip4_addr_copy(ifc->ip4, *ip_2_ip4(&a));
      mask_of(plen, &ifc->mask4);
    } else if (plen != 64) {
      return fail("unsupported", "lwIP 2.1 treats every IPv6 address as a /64: %s", v->str);
    } else if (ifc->n6 == LWIP_IPV6_NUM_ADDRESSES) {
      return fail("unsupported", "lwIP has %d IPv6 address slots per interface",
                  LWIP_IPV6_NUM_ADDRESSES);
    } else {
      ip6_addr_copy(ifc->ip6[ifc->n6], *ip_2_ip6(&a));   /* a macro: no n6++ inside */
      ifc->n6++;
    }
  }
  ifc->seen = 1;
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
    if (v->type != J_OBJ || route_parse(v, &base_default.via, &base_default.gw))
      return failure.code ? -1 : fail("invalid", "a route is an object");
    if (base_default.via && v->next)
      return fail("unsupported", "lwIP has one default route and no other routes");
  }
  int forwards[2] = {0, 0};
  v = jget(req, "forwarding");
  for (v = v ? v->kids : NULL; v; v = v->next)
    if (v->type == J_STR && (!strcmp(v->str, "ipv4") || !strcmp(v->str, "ipv6")))
      forwards[v->str[3] == '6'] = 1;
  if (nifs > 1 && !(forwards[0] && forwards[1]))
    return fail("unsupported", "lwIP forwards between its interfaces whenever it has two or more: "
                "IP_FORWARD and LWIP_IPV6_FORWARD are compiled in with no run-time switch");
  LOCK_TCPIP_CORE();
  for (int i = 0; i < nifs; i++) {
    struct iface *ifc = &ifs[i];
    netif_add(&ifc->netif, &ifc->ip4, &ifc->mask4, IP4_ADDR_ANY4, ifc, iface_init, tcpip_input);
    __atomic_store_n(&ifc->added, 1, __ATOMIC_RELEASE);
    iface_restore(ifc);
  }
  default_route_set(base_default.via, &base_default.gw);
  UNLOCK_TCPIP_CORE();
  configured = 1;
  return 0;
}

static int op_reset(const struct jv *req, struct buf *out)
{
  (void)req;
  (void)out;
  for (int i = 0; i < MAX_LISTENERS; i++)
    if (listeners[i].pcb)
      listener_close(&listeners[i]);
  for (int i = 0; i < nifs; i++) {
    iface_restore(&ifs[i]);
    etharp_cleanup_netif(&ifs[i].netif);
    nd6_cleanup_netif(&ifs[i].netif);
  }
  default_route_set(base_default.via, &base_default.gw);
  return 0;
}

static int op_link_set(const struct jv *req, struct buf *out)
{
  struct iface *ifc;
  int up;
  (void)out;
  if (arg_iface(req, &ifc, 1) || arg_bool(req, "up", &up, 1))
    return -1;
  if (up) {
    netif_set_up(&ifc->netif);
    netif_set_link_up(&ifc->netif);
  } else {
    netif_set_link_down(&ifc->netif);
    netif_set_down(&ifc->netif);
  }
  __atomic_store_n(&ifc->up, up, __ATOMIC_RELAXED);
  return 0;
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
  ifc->netif.mtu = (u16_t)mtu;
  ifc->netif.mtu6 = (u16_t)mtu;
  return 0;
}

/* The interface and address (with prefix length) of addr_add / addr_del. */
static int addr_args(const struct jv *req, struct iface **ifc, ip_addr_t *a, int *plen)
{
  const char *text;
  if (arg_iface(req, ifc, 1) || arg_str(req, "address", &text, 1) || parse_addr(text, a, plen))
    return -1;
  if (IP_IS_V6(a) && *plen != 64)
    return fail("unsupported", "lwIP 2.1 treats every IPv6 address as a /64: %s", text);
  return 0;
}

static int op_addr_add(const struct jv *req, struct buf *out)
{
  struct iface *ifc;
  ip_addr_t a;
  int plen;
  s8_t slot;
  char have[IPADDR_STRLEN_MAX];
  (void)out;
  if (addr_args(req, &ifc, &a, &plen))
    return -1;
  struct netif *n = &ifc->netif;
  if (IP_IS_V4(&a)) {
    ip4_addr_t mask;
    mask_of(plen, &mask);
    if (ip4_addr_isany_val(*netif_ip4_addr(n))) {
      netif_set_addr(n, ip_2_ip4(&a), &mask, netif_ip4_gw(n));
      return 0;
    }
    ip4addr_ntoa_r(netif_ip4_addr(n), have, sizeof have);
    if (ip4_addr_cmp(netif_ip4_addr(n), ip_2_ip4(&a)))
      return fail("failed", "%s already has %s", ifc->name, have);
    return fail("unsupported", "lwIP has one IPv4 address per interface and %s has %s/%d",
                ifc->name, have, prefix_len(netif_ip4_netmask(n)));
  }
  if (netif_get_ip6_addr_match(n, ip_2_ip6(&a)) >= 0)
    return fail("failed", "%s already has that address", ifc->name);
  if (netif_add_ip6_address(n, ip_2_ip6(&a), &slot) != ERR_OK)
    return fail("unsupported", "all %d IPv6 address slots of %s are taken",
                LWIP_IPV6_NUM_ADDRESSES, ifc->name);
  ip6_slot_set(n, slot, ip_2_ip6(&a));
  return 0;
}

static int op_addr_del(const struct jv *req, struct buf *out)
{
  struct iface *ifc;
  ip_addr_t a;
  int plen;
  (void)out;
  if (addr_args(req, &ifc, &a, &plen))
    return -1;
  struct netif *n = &ifc->netif;
  if (IP_IS_V4(&a)) {
    if (!ip4_addr_cmp(netif_ip4_addr(n), ip_2_ip4(&a)))
      return fail("failed", "%s has no address %s", ifc->name, ipaddr_ntoa(&a));
    netif_set_addr(n, IP4_ADDR_ANY4, IP4_ADDR_ANY4, IP4_ADDR_ANY4);
    return 0;
  }
  s8_t slot = netif_get_ip6_addr_match(n, ip_2_ip6(&a));
  if (slot < 0)
    return fail("failed", "%s has no address %s", ifc->name, ipaddr_ntoa(&a));
  netif_ip6_addr_set_state(n, slot, IP6_ADDR_INVALID);
  return 0;
}

static int op_route_add(const struct jv *req, struct buf *out)
{
  struct iface *via;
  ip4_addr_t gw;
  (void)out;
  if (route_parse(req, &via, &gw))
    return -1;
  if (netif_default)
    return fail("failed", "lwIP has one default route and it exists (via %s)",
                ip4addr_ntoa(netif_ip4_gw(netif_default)));
  default_route_set(via, &gw);
  return 0;
}

static int op_route_del(const struct jv *req, struct buf *out)
{
  ip4_addr_t gw;
  int rc;
  (void)out;
  if (route_destination(req) || (rc = gateway_arg(req, &gw)) < 0)
    return -1;
  if (!netif_default || (rc == 0 && !ip4_addr_cmp(netif_ip4_gw(netif_default), &gw)))
    return fail("failed", "no such route");
  default_route_set(NULL, NULL);
  return 0;
}

static const char *nd6_state_word(u8_t state)
{
  static const char *const words[] = {"NONE", "INCOMPLETE", "REACHABLE", "STALE", "DELAY", "PROBE"};
  return state < 6 ? words[state] : "UNKNOWN";
}

static int op_neigh_list(const struct jv *req, struct buf *out)
{
  struct iface *only = NULL;
  int first = 1;
  char addr[IPADDR_STRLEN_MAX];
  if (arg_iface(req, &only, 0) < 0)
    return -1;
  bput(out, ",\"neighbors\":[");
  for (size_t i = 0; i < ARP_TABLE_SIZE; i++) {
    ip4_addr_t *ip;
    struct netif *n;
    struct eth_addr *eth;
    if (!etharp_get_entry(i, &ip, &n, &eth) || (only && n != &only->netif))
      continue;
    const u8_t *m = eth->addr;
    /* etharp shows only complete entries; lwIP calls them "stable" */
    bput(out, "%s{\"address\":\"%s\",\"interface\":\"%s\","
         "\"mac\":\"%02x:%02x:%02x:%02x:%02x:%02x\",\"state\":\"STABLE\"}",
         first ? "" : ",", ip4addr_ntoa_r(ip, addr, sizeof addr), iface_of(n)->name,
         m[0], m[1], m[2], m[3], m[4], m[5]);
    first = 0;
  }
  for (int i = 0; i < LWIP_ND6_NUM_NEIGHBORS; i++) {
    struct nd6_neighbor_cache_entry *e = &neighbor_cache[i];
    ip_addr_t a;
    if (e->state == ND6_NO_ENTRY || (only && e->netif != &only->netif) || !iface_of(e->netif))
      continue;
    ip_addr_copy_from_ip6(a, e->next_hop_address);
    bput(out, "%s{\"address\":\"%s\",\"interface\":\"%s\",", first ? "" : ",",
         addr_text(&a, addr, sizeof addr), iface_of(e->netif)->name);
    if (e->state == ND6_INCOMPLETE)
      bput(out, "\"mac\":null,");
    else
      bput(out, "\"mac\":\"%02x:%02x:%02x:%02x:%02x:%02x\",", e->lladdr[0], e->lladdr[1],
           e->lladdr[2], e->lladdr[3], e->lladdr[4], e->lladdr[5]);
    bput(out, "\"state\":\"%s\"}", nd6_state_word(e->state));
    first = 0;
  }
  bput(out, "]");
  return 0;
}

static int op_neigh_add(const struct jv *req, struct buf *out)
{
  (void)req;
  (void)out;
  return fail("unsupported", "Debian's liblwip is built without static ARP entries "
              "(ETHARP_SUPPORT_STATIC_ENTRIES=0) and lwIP 2.1 has no call to add an NDP entry");
}

static int op_neigh_flush(const struct jv *req, struct buf *out)
{
  struct iface *only = NULL;
  const char *family = NULL;
  (void)out;
  if (arg_iface(req, &only, 0) < 0 || arg_str(req, "family", &family, 0) < 0)
    return -1;
  if (family && strcmp(family, "ipv4") && strcmp(family, "ipv6"))
    return fail("invalid", "family is ipv4 or ipv6");
  for (int i = 0; i < nifs; i++) {
    if (only && only != &ifs[i])
      continue;
    if (!family || !strcmp(family, "ipv4"))
      etharp_cleanup_netif(&ifs[i].netif);
    if (!family || !strcmp(family, "ipv6"))
      nd6_cleanup_netif(&ifs[i].netif);   /* also forgets RA-learned routers and prefixes */
  }
  return 0;
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
  if (!enabled)
    return fail("unsupported", "lwIP cannot stop forwarding: %s is compiled into Debian's "
                "liblwip with no run-time switch",
                family[3] == '4' ? "IP_FORWARD" : "LWIP_IPV6_FORWARD");
  return 0;
}

static int op_echo(const struct jv *req, struct buf *out)
{
  const char *dest, *source = NULL;
  double count, size, timeout, interval, ttl = -1;
  int df;
  ip_addr_t dst, src;
  static u16_t next_id;
  if (arg_str(req, "destination", &dest, 1) || arg_num(req, "count", &count, 1) ||
      arg_num(req, "size", &size, 1) || arg_bool(req, "dont_fragment", &df, 1) ||
      arg_num(req, "timeout", &timeout, 1) || arg_num(req, "interval", &interval, 1) ||
      arg_num(req, "ttl", &ttl, 0) < 0 || arg_str(req, "source", &source, 0) < 0 ||
      parse_addr(dest, &dst, NULL) || (source && parse_addr(source, &src, NULL)))
    return -1;
  if (count < 1 || count > 10000 || size < 0 || size > 65000 || timeout < 0 || interval < 0 ||
      (ttl != -1 && (ttl < 1 || ttl > 255)))
    return fail("invalid", "count, size, ttl, timeout or interval out of range");
  if (source && IP_GET_TYPE(&src) != IP_GET_TYPE(&dst))
    return fail("invalid", "source and destination are of different families");
  if (df)
    return fail("unsupported", "lwIP's raw API cannot set Don't Fragment on what it sends");
  int v6 = IP_IS_V6(&dst);

  LOCK_TCPIP_CORE();
  if (source && !is_ours(&src)) {
    UNLOCK_TCPIP_CORE();
    return fail("failed", "%s is not an address of the DUT", source);
  }
  zone_for(&dst, source ? &src : NULL);
  struct raw_pcb *pcb = raw_new_ip_type(v6 ? IPADDR_TYPE_V6 : IPADDR_TYPE_V4,
                                        v6 ? IP6_NEXTH_ICMP6 : IP_PROTO_ICMP);
  if (pcb) {
    if (ttl != -1)
      pcb->ttl = (u8_t)ttl;
    if (v6) {
      pcb->chksum_reqd = 1;
      pcb->chksum_offset = 2;
    }
    if (source)
      raw_bind(pcb, &src);
    pthread_mutex_lock(&echo.mu);
    echo.v6 = v6;
    echo.id = (u16_t)(getpid() + ++next_id);
    echo.count = (int)count;
    echo.answered = 0;
    echo.sent_at = calloc((size_t)count, sizeof *echo.sent_at);
    echo.seen = calloc((size_t)count, 1);
    echo.replies.n = echo.errors.n = 0;
    bput(&echo.replies, "%s", "");
    bput(&echo.errors, "%s", "");
    pthread_mutex_unlock(&echo.mu);
    raw_recv(pcb, echo_got, NULL);
  }
  UNLOCK_TCPIP_CORE();
  if (!pcb)
    return fail("failed", "lwIP has no raw pcb to spare");

  int transmitted = 0;
  char local[160] = "";
  for (int seq = 1; seq <= (int)count; seq++) {
    LOCK_TCPIP_CORE();
    struct pbuf *p = pbuf_alloc(PBUF_IP, (u16_t)(8 + size), PBUF_RAM);
    err_t err = ERR_MEM;
    if (p) {
      u8_t *icmp = p->payload;
      memset(icmp, 0, 8);
      icmp[0] = v6 ? ICMP6_TYPE_EREQ : ICMP_ECHO;
      icmp[4] = (u8_t)(echo.id >> 8);
      icmp[5] = (u8_t)echo.id;
      icmp[6] = (u8_t)(seq >> 8);
      icmp[7] = (u8_t)seq;
      for (int i = 0; i < (int)size; i++)
        icmp[8 + i] = (u8_t)i;
      if (!v6) {
        u16_t sum = inet_chksum(icmp, p->len);
        memcpy(icmp + 2, &sum, 2);
      }
      pthread_mutex_lock(&echo.mu);
      echo.sent_at[seq - 1] = now_s();
      pthread_mutex_unlock(&echo.mu);
      err = raw_sendto(pcb, p, &dst);
      pbuf_free(p);
    }
    UNLOCK_TCPIP_CORE();
    if (err == ERR_OK)
      transmitted++;
    else if (!*local)
      snprintf(local, sizeof local, "local error: %s",
               err == ERR_RTE ? "Network is unreachable" : strerror(err_to_errno(err)));
    if (seq < (int)count)
      sleep_s(interval);
  }

  /* wait for every request to be answered, or for the timeout */
  struct timespec until;
  clock_gettime(CLOCK_MONOTONIC, &until);
  double end = (double)until.tv_sec + (double)until.tv_nsec / 1e9 + timeout;
  until.tv_sec = (time_t)end;
  until.tv_nsec = (long)((end - (double)until.tv_sec) * 1e9);
  pthread_mutex_lock(&echo.mu);
  while (transmitted && echo.answered < transmitted &&
         pthread_cond_timedwait(&echo.cond, &echo.mu, &until) != ETIMEDOUT)
    ;
  pthread_mutex_unlock(&echo.mu);
  LOCK_TCPIP_CORE();
  raw_remove(pcb);   /* after this the callback no longer runs */
  UNLOCK_TCPIP_CORE();

  bput(out, ",\"transmitted\":%d,\"replies\":[%s],\"errors\":[%s", transmitted,
       echo.replies.s, echo.errors.s);
  if (*local) {
    bput(out, "%s", echo.errors.n ? "," : "");
    bstr(out, local);
  }
  bput(out, "]");
  free(echo.sent_at);
  free(echo.seen);
  return 0;
}

/* A port argument: 0, 1 if absent and optional, or -1 after fail(). */
static int port_arg(const struct jv *req, const char *key, u16_t *port, int required)
{
  double n;
  int rc = arg_num(req, key, &n, required);
  if (rc)
    return rc;
  if (n < 1 || n > 65535 || n != (int)n)
    return fail("invalid", "bad %s", key);
  *port = (u16_t)n;
  return 0;
}

static int hexval(char c)
{
  return c >= '0' && c <= '9' ? c - '0' : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10 : -1;
}

static int op_udp_send(const struct jv *req, struct buf *out)
{
  const char *dest, *hex;
  u16_t port, sport = 0;
  ip_addr_t dst;
  (void)out;
  if (arg_str(req, "destination", &dest, 1) || port_arg(req, "port", &port, 1) ||
      arg_str(req, "payload", &hex, 1) || port_arg(req, "source_port", &sport, 0) < 0 ||
      parse_addr(dest, &dst, NULL))
    return -1;
  size_t len = strlen(hex) / 2;
  if (strlen(hex) % 2 || len > 65507)
    return fail("invalid", "payload is hex of at most 65507 bytes");
  zone_for(&dst, NULL);
  struct udp_pcb *pcb = udp_new_ip_type(IP_IS_V6(&dst) ? IPADDR_TYPE_V6 : IPADDR_TYPE_V4);
  struct pbuf *p = pbuf_alloc(PBUF_TRANSPORT, (u16_t)len, PBUF_RAM);
  err_t err = pcb && p ? ERR_OK : ERR_MEM;
  for (size_t i = 0; p && i < len; i++) {
    int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
    if (hi < 0 || lo < 0)
      err = ERR_ARG;
    ((u8_t *)p->payload)[i] = (u8_t)(hi << 4 | lo);
  }
  if (err == ERR_OK && sport) {
    ip_set_option(pcb, SOF_REUSEADDR);
    err = udp_bind(pcb, IP_IS_V6(&dst) ? IP6_ADDR_ANY : IP4_ADDR_ANY, sport);
  }
  if (err == ERR_OK)
    err = udp_sendto(pcb, p, &dst, port);
  if (p)
    pbuf_free(p);
  if (pcb)
    udp_remove(pcb);
  if (err == ERR_ARG)
    return fail("invalid", "payload is not hex");
  if (err != ERR_OK)
    return fail("failed", "udp_sendto: %s", strerror(err_to_errno(err)));
  return 0;
}

static int op_udp_listen(const struct jv *req, struct buf *out)
{
  const char *family;
  u16_t port;
  int i;
  if (port_arg(req, "port", &port, 1) || arg_str(req, "family", &family, 1))
    return -1;
  int v6 = !strcmp(family, "ipv6");
  if (!v6 && strcmp(family, "ipv4"))
    return fail("invalid", "family is ipv4 or ipv6");
  for (i = 0; i < MAX_LISTENERS && listeners[i].pcb; i++)
    ;
  if (i == MAX_LISTENERS)
    return fail("failed", "too many listeners");
  struct udp_pcb *pcb = udp_new_ip_type(v6 ? IPADDR_TYPE_V6 : IPADDR_TYPE_V4);
  if (!pcb)
    return fail("failed", "lwIP has no udp pcb to spare");
  ip_set_option(pcb, SOF_REUSEADDR);
  err_t err = udp_bind(pcb, v6 ? IP6_ADDR_ANY : IP4_ADDR_ANY, port);
  if (err != ERR_OK) {
    udp_remove(pcb);
    return fail("failed", "udp_bind port %u: %s", port, strerror(err_to_errno(err)));
  }
  listeners[i].pcb = pcb;
  listeners[i].tail = &listeners[i].head;
  udp_recv(pcb, udp_got, &listeners[i]);
  bput(out, ",\"handle\":%d", i + 1);
  return 0;
}

/* The listener named by argument "handle", or NULL after fail(). */
static struct listener *handle_arg(const struct jv *req)
{
  double h;
  if (arg_num(req, "handle", &h, 1))
    return NULL;
  if (h < 1 || h > MAX_LISTENERS || !listeners[(int)h - 1].pcb) {
    fail("invalid", "no listener %g", h);
    return NULL;
  }
  return &listeners[(int)h - 1];
}

static int op_udp_receive(const struct jv *req, struct buf *out)
{
  double timeout;
  struct listener *l = handle_arg(req);
  if (!l || arg_num(req, "timeout", &timeout, 1))
    return -1;
  if (timeout < 0 || timeout > 3600)
    return fail("invalid", "bad timeout");
  sleep_s(timeout);   /* like the Linux adapter: all that arrive in time */
  pthread_mutex_lock(&udp_mu);
  struct dgram *d = l->head;
  l->head = NULL;
  l->tail = &l->head;
  pthread_mutex_unlock(&udp_mu);
  bput(out, ",\"datagrams\":[");
  for (int first = 1; d; first = 0) {
    struct dgram *next = d->next;
    bput(out, "%s{\"source\":\"%s\",\"port\":%u,\"data\":\"", first ? "" : ",", d->source, d->port);
    for (int i = 0; i < d->len; i++)
      bput(out, "%02x", d->data[i]);
    bput(out, "\"}");
    free(d);
    d = next;
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

/* The operations; "locked" ones run entirely under the tcpip core lock. */
static const struct op {
  const char *name;
  int (*run)(const struct jv *req, struct buf *out);
  int locked, needs_configure;
} ops[] = {
  {"hello", op_hello, 0, 0},
  {"configure", op_configure, 0, 0},
  {"reset", op_reset, 1, 1},
  {"link_set", op_link_set, 1, 1},
  {"mtu_set", op_mtu_set, 1, 1},
  {"addr_add", op_addr_add, 1, 1},
  {"addr_del", op_addr_del, 1, 1},
  {"route_add", op_route_add, 1, 1},
  {"route_del", op_route_del, 1, 1},
  {"neigh_list", op_neigh_list, 1, 1},
  {"neigh_add", op_neigh_add, 0, 1},
  {"neigh_flush", op_neigh_flush, 1, 1},
  {"forwarding_set", op_forwarding_set, 0, 1},
  {"echo", op_echo, 0, 1},
  {"udp_send", op_udp_send, 1, 1},
  {"udp_listen", op_udp_listen, 1, 1},
  {"udp_receive", op_udp_receive, 0, 1},
  {"udp_close", op_udp_close, 1, 1},
};

/* The response line (without newline) for one request line. */
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
    if (!op) {
      rc = fail("unsupported", "lwip has no operation %s", name);
    } else if (op->needs_configure && !configured) {
      rc = fail("failed", "not configured yet");
    } else {
      if (op->locked)
        LOCK_TCPIP_CORE();
      rc = op->run(req, &out);
      if (op->locked)
        UNLOCK_TCPIP_CORE();
    }
  }
  if (rc == 0) {
    bput(response, "{\"ok\":true%s}", out.s);
  } else {
    fprintf(stderr, "lwip-dut: %s: %s: %s\n", name ? name : "?", failure.code, failure.text);
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

static void tcpip_ready(void *sem)
{
  sys_sem_signal(sem);
}

int main(int argc, char **argv)
{
  const char *control = NULL;
  pthread_t rx;
  pthread_condattr_t ca;
  sys_sem_t ready;

  prctl(PR_SET_PDEATHSIG, SIGKILL);
  signal(SIGTERM, on_sigterm);
  signal(SIGPIPE, SIG_IGN);
  dup2(2, 1);   /* lwIP prints assertions on stdout: send them to the log */
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--control") && i + 1 < argc)
      control = argv[++i];
    else if (nifs < MAX_IFS && strlen(argv[i]) < IFNAMSIZ)
      strcpy(ifs[nifs++].name, argv[i]);
    else
      control = NULL, i = argc;
  }
  if (!control || !nifs) {
    fprintf(stderr, "usage: lwip-dut --control PATH IFNAME... (at most %d)\n", MAX_IFS);
    return 2;
  }
  for (int i = 0; i < nifs; i++)
    if (iface_open(&ifs[i]))
      return 1;

  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&echo.cond, &ca);
  sys_sem_new(&ready, 0);
  tcpip_init(tcpip_ready, &ready);
  sys_sem_wait(&ready);
  pthread_create(&rx, NULL, rx_loop, NULL);

  int srv = control_listen(control);
  if (srv < 0) {
    fprintf(stderr, "lwip-dut: control socket %s: %s\n", control, strerror(errno));
    return 1;
  }
  fprintf(stderr, "lwip-dut: lwIP %s on %d interface(s), control %s\n", LWIP_VERSION_STRING, nifs,
          control);
  serve_forever(srv);
}
