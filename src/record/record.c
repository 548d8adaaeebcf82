/* record.c - small lookup helpers for ts_record (state and cc names). */
#include "record.h"

#include <errno.h>
#include <string.h>

static const char *const state_names[TS_TCP_STATE_MAX + 1] = {
	[0] = "unknown",       [1] = "established",	[2] = "syn-sent",
	[3] = "syn-recv",      [4] = "fin-wait-1",	[5] = "fin-wait-2",
	[6] = "time-wait",     [7] = "close",		[8] = "close-wait",
	[9] = "last-ack",      [10] = "listen",		[11] = "closing",
	[12] = "new-syn-recv", [13] = "bound-inactive",
};

const char *ts_tcp_state_name(unsigned state)
{
	if (state > TS_TCP_STATE_MAX)
		return "unknown";
	return state_names[state];
}

int ts_tcp_state_from_name(const char *name, unsigned *state_out)
{
	for (unsigned i = 1; i <= TS_TCP_STATE_MAX; i++) {
		if (strcmp(name, state_names[i]) == 0) {
			*state_out = i;
			return 0;
		}
	}
	return -EINVAL;
}

uint32_t ts_cong_from_name(const char *name)
{
	static const struct {
		const char *name;
		uint32_t algo;
	} map[] = {
		{ "cubic", TS_CONG_CUBIC }, { "dctcp", TS_CONG_DCTCP },
		{ "vegas", TS_CONG_VEGAS }, { "prague", TS_CONG_PRAGUE },
		{ "bbr", TS_CONG_BBR1 },    { "bbr1", TS_CONG_BBR1 },
		{ "bbr2", TS_CONG_BBR2 },   { "bbr3", TS_CONG_BBR3 },
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(name, map[i].name) == 0)
			return map[i].algo;
	return TS_CONG_UNSPECIFIED;
}
