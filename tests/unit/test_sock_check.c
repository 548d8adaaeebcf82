/*
 * test_sock_check.c - the checks every received netlink datagram passes,
 * whichever engine received it (nl_sock_check): a truncated datagram is
 * -EMSGSIZE, one from a sender other than the kernel is -EPROTO, a short
 * or absent address is not held against it.
 */
#include <errno.h>
#include <linux/netlink.h>
#include <string.h>
#include <sys/socket.h>

#include "check.h"
#include "netlink/nl_sock.h"

int main(void)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	struct sockaddr_nl user = { .nl_family = AF_NETLINK, .nl_pid = 4242 };

	CHECK_EQ(nl_sock_check(0, &kernel, sizeof(kernel)), 0);
	CHECK_EQ(nl_sock_check(MSG_TRUNC, &kernel, sizeof(kernel)), -EMSGSIZE);
	CHECK_EQ(nl_sock_check(0, &user, sizeof(user)), -EPROTO);
	CHECK_EQ(nl_sock_check(MSG_TRUNC, &user, sizeof(user)), -EMSGSIZE);
	CHECK_EQ(nl_sock_check(0, &user, 4), 0); /* no pid in it */
	CHECK_EQ(nl_sock_check(0, NULL, 0), 0);
	CHECK_EQ(nl_sock_check(MSG_EOR, &kernel, sizeof(kernel)), 0);
	return check_failures ? 1 : 0;
}
