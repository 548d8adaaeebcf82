/*
 * notify.h - systemd's service notification protocol (sd_notify(3)):
 * readiness, the watchdog's keepalive, stopping.
 *
 * Contract: outside systemd (no NOTIFY_SOCKET) every call is a no-op
 * returning 0. ts_notify_ready() is sent once the first poll is done
 * (Type=notify: the unit is "active" from then), ts_notify_stopping()
 * when the exit phase begins, ts_notify_watchdog() on every keepalive
 * of the event loop. ts_notify_watchdog_ms() is that keepalive's
 * period: half of the unit's WatchdogSec= (WATCHDOG_USEC, for this
 * process when WATCHDOG_PID is set), as sd_watchdog_enabled(3)
 * recommends; 0 when there is no watchdog. A message that cannot be
 * sent returns -errno; the daemon goes on (systemd judges what it did
 * not receive).
 * Thread-safety: any thread (sd_notify keeps no state); the daemon
 * calls them from the main thread, the one its watchdog is meant to
 * watch.
 */
#ifndef TS_NOTIFY_H
#define TS_NOTIFY_H

#include <stdint.h>

int ts_notify_ready(void);
int ts_notify_watchdog(void);
int ts_notify_stopping(void);
uint64_t ts_notify_watchdog_ms(void);

#endif
