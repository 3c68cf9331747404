/*
 * The NetBSD ABI the shim speaks to the rump kernel with: constants, struct
 * sizes and offsets, read from the NetBSD headers of the kernel that was
 * built (kept in the kernel cache under netbsd/).  ./build compiles this to
 * assembly only (no NetBSD libc needed) and turns every DEF into a line of
 * bin/netbsd-abi.h: `#define NB_<name> <value>`.  rump-dut.c declares the
 * structures it fills by hand and checks them against these numbers at
 * compile time, so a layout mistake breaks the build instead of a test.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/ioccom.h>
#include <sys/sockio.h>
#include <sys/sysctl.h>
#include <net/if.h>
#include <net/if_dl.h>
#include <net/route.h>
#include <netinet/in.h>
#include <netinet/in_var.h>
#include <netinet/icmp6.h>
#include <netinet6/in6_var.h>
#include <netinet6/nd6.h>

#define DEF(n, v) __asm__ volatile("\n.ascii \"@@@" #n " %c0\"" :: "n"((int)(v)))
#define SIZE(s) DEF(SIZEOF_##s, sizeof(struct s))
#define OFF(s, f) DEF(OFF_##s##_##f, __builtin_offsetof(struct s, f))

void abi(void);
void abi(void)
{
	/* sockets */
	DEF(AF_UNSPEC, AF_UNSPEC); DEF(AF_INET, AF_INET); DEF(AF_INET6, AF_INET6);
	DEF(AF_LINK, AF_LINK); DEF(PF_ROUTE, PF_ROUTE);
	DEF(SOCK_DGRAM, SOCK_DGRAM); DEF(SOCK_RAW, SOCK_RAW);
	DEF(SOL_SOCKET, SOL_SOCKET); DEF(SO_REUSEADDR, SO_REUSEADDR);
	DEF(SO_REUSEPORT, SO_REUSEPORT); DEF(SO_RCVBUF, SO_RCVBUF); DEF(SO_SNDBUF, SO_SNDBUF);
	DEF(MSG_DONTWAIT, MSG_DONTWAIT);
	DEF(IPPROTO_IP, IPPROTO_IP); DEF(IPPROTO_ICMP, IPPROTO_ICMP);
	DEF(IPPROTO_UDP, IPPROTO_UDP); DEF(IPPROTO_IPV6, IPPROTO_IPV6);
	DEF(IPPROTO_ICMPV6, IPPROTO_ICMPV6);
	DEF(IP_TTL, IP_TTL); DEF(IP_HDRINCL, IP_HDRINCL);
	DEF(IPV6_UNICAST_HOPS, IPV6_UNICAST_HOPS); DEF(IPV6_RECVHOPLIMIT, IPV6_RECVHOPLIMIT);
	DEF(IPV6_HOPLIMIT, IPV6_HOPLIMIT); DEF(IPV6_DONTFRAG, IPV6_DONTFRAG);
	DEF(IPV6_V6ONLY, IPV6_V6ONLY);
	SIZE(sockaddr); SIZE(sockaddr_in); SIZE(sockaddr_in6); SIZE(sockaddr_dl);
	OFF(sockaddr_in6, sin6_addr); OFF(sockaddr_in6, sin6_scope_id);
	OFF(sockaddr_dl, sdl_index); OFF(sockaddr_dl, sdl_addr);
	SIZE(msghdr); OFF(msghdr, msg_name); OFF(msghdr, msg_namelen); OFF(msghdr, msg_iov);
	OFF(msghdr, msg_iovlen); OFF(msghdr, msg_control); OFF(msghdr, msg_controllen);
	OFF(msghdr, msg_flags);
	SIZE(cmsghdr); DEF(CMSG_DATA_OFFSET, CMSG_LEN(0)); DEF(CMSG_SPACE_INT, CMSG_SPACE(sizeof(int)));

	/* interfaces and addresses */
	DEF(IFNAMSIZ, IFNAMSIZ);
	DEF(SIOCIFCREATE, SIOCIFCREATE); DEF(SIOCGIFINDEX, SIOCGIFINDEX);
	DEF(SIOCGIFFLAGS, SIOCGIFFLAGS); DEF(SIOCSIFFLAGS, SIOCSIFFLAGS);
	DEF(SIOCGIFMTU, SIOCGIFMTU); DEF(SIOCSIFMTU, SIOCSIFMTU);
	DEF(SIOCAIFADDR, SIOCAIFADDR); DEF(SIOCDIFADDR, SIOCDIFADDR);
	DEF(SIOCAIFADDR_IN6, SIOCAIFADDR_IN6); DEF(SIOCDIFADDR_IN6, SIOCDIFADDR_IN6);
	DEF(SIOCGIFINFO_IN6, SIOCGIFINFO_IN6); DEF(SIOCSIFINFO_IN6, SIOCSIFINFO_IN6);
	DEF(SIOCGNBRINFO_IN6, SIOCGNBRINFO_IN6);
	DEF(SIOCSRTRFLUSH_IN6, SIOCSRTRFLUSH_IN6); DEF(SIOCSPFXFLUSH_IN6, SIOCSPFXFLUSH_IN6);
	DEF(IFF_UP, IFF_UP); DEF(IFF_RUNNING, IFF_RUNNING);
	DEF(IN6_IFF_NODAD, IN6_IFF_NODAD); DEF(SIOCGIFAFLAG_IN6, SIOCGIFAFLAG_IN6);
	DEF(IN6_IFF_TENTATIVE, IN6_IFF_TENTATIVE); DEF(IN6_IFF_DUPLICATED, IN6_IFF_DUPLICATED);
	DEF(IN6_IFF_DETACHED, IN6_IFF_DETACHED);
	SIZE(ifreq); OFF(ifreq, ifr_ifru);
	SIZE(in_aliasreq); OFF(in_aliasreq, ifra_addr); OFF(in_aliasreq, ifra_dstaddr);
	OFF(in_aliasreq, ifra_mask);
	SIZE(in6_aliasreq); OFF(in6_aliasreq, ifra_addr); OFF(in6_aliasreq, ifra_prefixmask);
	OFF(in6_aliasreq, ifra_flags); OFF(in6_aliasreq, ifra_lifetime);
	SIZE(in6_addrlifetime); OFF(in6_addrlifetime, ia6t_vltime);
	OFF(in6_addrlifetime, ia6t_pltime);
	SIZE(in6_ifreq); OFF(in6_ifreq, ifr_ifru);
	SIZE(in6_ndireq); OFF(in6_ndireq, ndi); SIZE(nd_ifinfo);
	OFF(nd_ifinfo, linkmtu); OFF(nd_ifinfo, basereachable); OFF(nd_ifinfo, reachable);
	OFF(nd_ifinfo, retrans); OFF(nd_ifinfo, flags); OFF(nd_ifinfo, chlim);
	SIZE(in6_nbrinfo); OFF(in6_nbrinfo, addr); OFF(in6_nbrinfo, asked);
	OFF(in6_nbrinfo, isrouter); OFF(in6_nbrinfo, state); OFF(in6_nbrinfo, expire);
	DEF(ND6_LLINFO_PURGE, ND6_LLINFO_PURGE); DEF(ND6_LLINFO_NOSTATE, ND6_LLINFO_NOSTATE);
	DEF(ND6_LLINFO_INCOMPLETE, ND6_LLINFO_INCOMPLETE);
	DEF(ND6_LLINFO_REACHABLE, ND6_LLINFO_REACHABLE); DEF(ND6_LLINFO_STALE, ND6_LLINFO_STALE);
	DEF(ND6_LLINFO_DELAY, ND6_LLINFO_DELAY); DEF(ND6_LLINFO_PROBE, ND6_LLINFO_PROBE);

	/* the routing socket and its sysctl dumps */
	DEF(RTM_VERSION, RTM_VERSION); DEF(RTM_ADD, RTM_ADD); DEF(RTM_DELETE, RTM_DELETE);
	DEF(RTM_GET, RTM_GET); DEF(RTM_NEWADDR, RTM_NEWADDR); DEF(RTM_IFINFO, RTM_IFINFO);
	DEF(RTF_UP, RTF_UP); DEF(RTF_GATEWAY, RTF_GATEWAY); DEF(RTF_HOST, RTF_HOST);
	DEF(RTF_REJECT, RTF_REJECT); DEF(RTF_DYNAMIC, RTF_DYNAMIC);
	DEF(RTF_MODIFIED, RTF_MODIFIED); DEF(RTF_STATIC, RTF_STATIC); DEF(RTF_LLDATA, RTF_LLDATA);
	DEF(RTF_LOCAL, RTF_LOCAL); DEF(RTF_BLACKHOLE, RTF_BLACKHOLE);
	DEF(RTF_BROADCAST, RTF_BROADCAST); DEF(RTF_CONNECTED, RTF_CONNECTED);
	DEF(RTA_DST, RTA_DST); DEF(RTA_GATEWAY, RTA_GATEWAY); DEF(RTA_NETMASK, RTA_NETMASK);
	DEF(RTA_IFP, RTA_IFP); DEF(RTA_IFA, RTA_IFA); DEF(RTAX_MAX, RTAX_MAX);
	DEF(RT_ROUNDUP_TO, sizeof(uint64_t));
	DEF(NET_RT_DUMP, NET_RT_DUMP); DEF(NET_RT_FLAGS, NET_RT_FLAGS);
	DEF(NET_RT_IFLIST, NET_RT_IFLIST);
	SIZE(rt_msghdr); OFF(rt_msghdr, rtm_msglen); OFF(rt_msghdr, rtm_version);
	OFF(rt_msghdr, rtm_type); OFF(rt_msghdr, rtm_index); OFF(rt_msghdr, rtm_flags);
	OFF(rt_msghdr, rtm_addrs); OFF(rt_msghdr, rtm_pid); OFF(rt_msghdr, rtm_seq);
	OFF(rt_msghdr, rtm_errno); OFF(rt_msghdr, rtm_inits); OFF(rt_msghdr, rtm_rmx);
	SIZE(rt_metrics); OFF(rt_metrics, rmx_expire);
	SIZE(if_msghdr); OFF(if_msghdr, ifm_addrs); OFF(if_msghdr, ifm_flags);
	OFF(if_msghdr, ifm_index);
	SIZE(ifa_msghdr); OFF(ifa_msghdr, ifam_addrs); OFF(ifa_msghdr, ifam_flags);
	OFF(ifa_msghdr, ifam_index);

	/* sysctl */
	DEF(CTL_NET, CTL_NET); DEF(CTL_QUERY, CTL_QUERY); DEF(CTL_MAXNAME, CTL_MAXNAME);
	DEF(SYSCTL_VERSION, SYSCTL_VERSION); DEF(SYSCTL_NAMELEN, SYSCTL_NAMELEN);
	DEF(SYSCTL_TYPEMASK, SYSCTL_TYPEMASK);
	DEF(CTLTYPE_NODE, CTLTYPE_NODE); DEF(CTLTYPE_INT, CTLTYPE_INT);
	DEF(CTLTYPE_STRING, CTLTYPE_STRING); DEF(CTLTYPE_QUAD, CTLTYPE_QUAD);
	DEF(CTLTYPE_BOOL, CTLTYPE_BOOL);
	DEF(ICMP6_STAT_INHIST, ICMP6_STAT_INHIST); DEF(ICMP6_NSTATS, ICMP6_NSTATS);
	DEF(ND_ROUTER_ADVERT, ND_ROUTER_ADVERT);
	SIZE(sysctlnode); OFF(sysctlnode, sysctl_flags); OFF(sysctlnode, sysctl_num);
	OFF(sysctlnode, sysctl_name);
}
