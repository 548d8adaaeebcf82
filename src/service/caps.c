/* caps.c - keep the capabilities tcpscope uses, drop the rest (see
 * caps.h). */
#include "caps.h"

#include <errno.h>
#include <string.h>
#include <sys/capability.h>

const struct ts_cap_use ts_caps_kept[TS_CAPS_KEPT] = {
	{ CAP_SYS_ADMIN, "CAP_SYS_ADMIN",
	  "setns(2) into the other network namespaces",
	  "only tcpscope's own namespace is polled; the others are counted "
	  "as failed" },
	{ CAP_SYS_PTRACE, "CAP_SYS_PTRACE",
	  "reading /proc/PID/ns/net of other users' processes (and of "
	  "root's, whose capabilities are not a subset of tcpscope's)",
	  "the namespaces of other users' and root's processes that have "
	  "no bind mount are not found" },
	{ CAP_NET_ADMIN, "CAP_NET_ADMIN",
	  "INET_DIAG_MARK, a socket's mark, which the kernel sends only to "
	  "a requester that has it",
	  "records have no mark field" },
};

static int kept(cap_value_t c)
{
	for (unsigned i = 0; i < TS_CAPS_KEPT; i++)
		if (ts_caps_kept[i].cap == c)
			return 1;
	return 0;
}

static int held(cap_t caps, cap_value_t c, cap_flag_t set)
{
	cap_flag_value_t v = CAP_CLEAR;

	return cap_get_flag(caps, c, set, &v) == 0 && v == CAP_SET;
}

/* The bounding set limits what an exec could ever regain: cut to the
 * kept ones, which takes CAP_SETPCAP (raised effective for it). */
static int drop_bound(cap_t now)
{
	cap_value_t setpcap = CAP_SETPCAP, max = cap_max_bits();

	if (!held(now, CAP_SETPCAP, CAP_PERMITTED))
		return 0;
	if (cap_set_flag(now, CAP_EFFECTIVE, 1, &setpcap, CAP_SET) < 0 ||
	    cap_set_proc(now) < 0)
		return -errno;
	for (cap_value_t c = 0; c < max; c++)
		if (!kept(c) && cap_get_bound(c) > 0 && cap_drop_bound(c) < 0)
			return -errno;
	return 0;
}

/* The new sets: permitted = effective = what is held of the kept ones;
 * no inheritable, no ambient (tcpscope runs nothing). */
static int set_kept(cap_t now)
{
	cap_t next = cap_init();
	int rc = 0;

	if (!next)
		return -errno;
	for (unsigned i = 0; i < TS_CAPS_KEPT; i++) {
		cap_value_t c = ts_caps_kept[i].cap;
		if (held(now, c, CAP_PERMITTED) &&
		    (cap_set_flag(next, CAP_PERMITTED, 1, &c, CAP_SET) < 0 ||
		     cap_set_flag(next, CAP_EFFECTIVE, 1, &c, CAP_SET) < 0))
			rc = -errno;
	}
	/* the kernel empties ambient with inheritable: no ambient
	 * capability is ever not inheritable */
	if (rc == 0 && cap_set_proc(next) < 0)
		rc = -errno;
	cap_free(next);
	return rc;
}

/* What is to be done: 0 nothing (no capability at all, or only kept
 * ones, all effective: the systemd unit's ambient set), 1 a drop. */
static int to_drop(cap_t now)
{
	cap_value_t max = cap_max_bits();

	for (cap_value_t c = 0; c < max; c++) {
		int p = held(now, c, CAP_PERMITTED);
		if ((p && !kept(c)) || p != held(now, c, CAP_EFFECTIVE))
			return 1;
	}
	return 0;
}

int ts_caps_drop(FILE *err)
{
	cap_t now = cap_get_proc();
	int rc = 0, any = 0;

	if (!now) {
		rc = -errno;
		fprintf(err, "tcpscope: cannot read capabilities: %s\n",
			strerror(-rc));
		return rc;
	}
	for (cap_value_t c = 0; c < cap_max_bits() && !any; c++)
		any = held(now, c, CAP_PERMITTED);
	/* the unit's seccomp filter refuses capset (~@privileged): a
	 * process that holds just what it keeps leaves its sets alone */
	if (to_drop(now)) {
		rc = drop_bound(now);
		if (rc == 0)
			rc = set_kept(now);
	}
	if (rc < 0)
		fprintf(err, "tcpscope: cannot drop capabilities: %s\n",
			strerror(-rc));
	/* an ordinary user (no capability at all) is told nothing */
	for (unsigned i = 0; i < TS_CAPS_KEPT && rc == 0 && any; i++)
		if (!held(now, ts_caps_kept[i].cap, CAP_PERMITTED))
			fprintf(err, "tcpscope: without %s: %s\n",
				ts_caps_kept[i].name, ts_caps_kept[i].without);
	cap_free(now);
	return rc;
}
