/* notify.c - sd_notify(3) for readiness, watchdog and stop (see
 * notify.h). */
#include "notify.h"

#include <systemd/sd-daemon.h>

/* sd_notify: >0 sent, 0 no NOTIFY_SOCKET (not under systemd), <0 -errno.
 * The environment is left set: the watchdog sends again and again. */
static int send_state(const char *state)
{
	int rc = sd_notify(0, state);

	return rc < 0 ? rc : 0;
}

int ts_notify_ready(void)
{
	return send_state("READY=1");
}

int ts_notify_watchdog(void)
{
	return send_state("WATCHDOG=1");
}

int ts_notify_stopping(void)
{
	return send_state("STOPPING=1");
}

uint64_t ts_notify_watchdog_ms(void)
{
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) <= 0)
		return 0;
	/* half the timeout, at least 1 ms */
	return usec / 2000 ? usec / 2000 : 1;
}
