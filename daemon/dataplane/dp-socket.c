/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dp-socket.h"
#include "log.h"

static void set_buffer(int fd, int force_opt, int opt, int size) {
        /* *BUFFORCE ignores rmem_max/wmem_max (CAP_NET_ADMIN); the plain one is capped. */
        if (setsockopt(fd, SOL_SOCKET, force_opt, &size, sizeof size) == 0)
                return;
        (void) setsockopt(fd, SOL_SOCKET, opt, &size, sizeof size);
}

int fzd_dp_udp_open(int family, uint16_t port, bool fallback, uint32_t mark, int buffer, int *ret_fd,
                    uint16_t *ret_port) {
        _cleanup_(closep) int fd = -EBADF;
        union {
                struct sockaddr sa;
                struct sockaddr_in in;
                struct sockaddr_in6 in6;
        } a = {};
        socklen_t alen;
        int one = 1;

        if (family != AF_INET && family != AF_INET6)
                return -EAFNOSUPPORT;
        fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
        if (fd < 0)
                return -errno;
        if (mark != 0 && setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) < 0)
                return log_error_errno(errno, "Failed to set the firewall mark on the data plane socket: %m");
        if (family == AF_INET6) {
                if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0)
                        return -errno;
                (void) setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
        } else
                (void) setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
        if (buffer <= 0)
                buffer = FZD_DP_SOCKET_BUFFER;
        set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, buffer);
        set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, buffer);
        /* Coalesced receives (Linux 5.0+); without it we get one datagram per slot. */
        (void) setsockopt(fd, IPPROTO_UDP, UDP_GRO, &one, sizeof one);

        if (family == AF_INET) {
                a.in = (struct sockaddr_in) { .sin_family = AF_INET, .sin_port = htons(port) };
                alen = sizeof a.in;
        } else {
                a.in6 = (struct sockaddr_in6) { .sin6_family = AF_INET6, .sin6_port = htons(port) };
                alen = sizeof a.in6;
        }
        if (bind(fd, &a.sa, alen) < 0) {
                if (errno != EADDRINUSE || !fallback || port == 0)
                        return -errno;
                log_info("UDP port %u is taken, using an ephemeral port.", port);
                if (family == AF_INET)
                        a.in.sin_port = 0;
                else
                        a.in6.sin6_port = 0;
                if (bind(fd, &a.sa, alen) < 0)
                        return -errno;
        }
        alen = sizeof a;
        if (getsockname(fd, &a.sa, &alen) < 0)
                return -errno;
        if (ret_port)
                *ret_port = ntohs(family == AF_INET ? a.in.sin_port : a.in6.sin6_port);
        *ret_fd = TAKE_FD(fd);
        return 0;
}

bool fzd_dp_udp_gso_supported(int fd) {
        int v = 0;
        socklen_t l = sizeof v;

        return getsockopt(fd, IPPROTO_UDP, UDP_SEGMENT, &v, &l) == 0;
}

bool fzd_dp_udp_gro_enabled(int fd) {
        int v = 0;
        socklen_t l = sizeof v;

        return getsockopt(fd, IPPROTO_UDP, UDP_GRO, &v, &l) == 0 && v != 0;
}

int fzd_dp_tun_enable_offloads(int tun_fd, unsigned *ret_flags) {
        static const unsigned candidates[] = {
                TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_USO4 | TUN_F_USO6,
                TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6,
                TUN_F_CSUM,
        };

        for (size_t i = 0; i < ELEMENTSOF(candidates); i++)
                if (ioctl(tun_fd, TUNSETOFFLOAD, (unsigned long) candidates[i]) == 0) {
                        *ret_flags = candidates[i];
                        return 0;
                }
        int r = -errno;
        *ret_flags = 0;
        (void) ioctl(tun_fd, TUNSETOFFLOAD, 0UL);
        return r;
}
