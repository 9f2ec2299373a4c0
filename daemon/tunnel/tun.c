/* SPDX-License-Identifier: Apache-2.0 */
/* The TUN device itself: only the character device and TUNSETIFF; MTU, addresses and
 * routes go through rtnetlink. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h> /* before linux/if_tun.h, which would otherwise pull in linux/if.h */
#include <linux/if_tun.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>

#include "log.h"
#include "tun.h"

int fzd_tun_create(const char *ifname, int *ret_fd, int *ret_ifindex) {
        return fzd_tun_create_with(ifname, 0, ret_fd, ret_ifindex);
}

int fzd_tun_create_with(const char *ifname, unsigned flags, int *ret_fd, int *ret_ifindex) {
        _cleanup_(closep) int fd = -EBADF;
        struct ifreq ifr = {};
        unsigned ifindex;
        size_t len;

        len = ifname ? strlen(ifname) : 0;
        if (len == 0 || len >= sizeof ifr.ifr_name)
                return -EINVAL;
        /* TUNSETIFF on an existing persistent TUN of that name would attach to it, which
         * would make us manage someone else's device. */
        if (if_nametoindex(ifname) > 0)
                return -EEXIST;

        fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
                return log_error_errno(errno, "Failed to open /dev/net/tun: %m");

        memcpy(ifr.ifr_name, ifname, len);
        ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (flags & FZD_TUN_VNET_HDR ? IFF_VNET_HDR : 0);
        if (ioctl(fd, TUNSETIFF, &ifr) < 0)
                return log_error_errno(errno, "Failed to create TUN device %s: %m", ifname);
        /* The kernel may not rename it, but a name it chose itself would not be ours. */
        if (strncmp(ifr.ifr_name, ifname, sizeof ifr.ifr_name) != 0)
                return log_error_errno(EINVAL, "TUN device was created as %.*s instead of %s.",
                                       (int) sizeof ifr.ifr_name, ifr.ifr_name, ifname);

        ifindex = if_nametoindex(ifname);
        if (ifindex == 0 || ifindex > INT32_MAX)
                return log_error_errno(errno ?: ENODEV, "Failed to look up the index of %s: %m", ifname);

        *ret_fd = TAKE_FD(fd);
        *ret_ifindex = (int) ifindex;
        return 0;
}
