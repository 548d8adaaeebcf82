/* options.c - command line, config file and --help, all driven by the
 * option table (see options.h, opt_table.h). */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>

#include "../netlink/nl_request.h"
#include "../service/caps.h"
#include "../util/list.h"
#include "../util/secret.h"
#include "opt_table.h"

struct ts_str {
	struct ts_str *next;
	char s[];
};

struct ts_opt_src {
	const char *file; /* NULL: the command line */
	unsigned line;
};

static const char *own(struct ts_options *o, const char *s)
{
	size_t n = strlen(s) + 1;
	struct ts_str *p = malloc(sizeof(*p) + n);

	if (!p)
		return NULL;
	memcpy(p->s, s, n);
	p->next = o->owned;
	o->owned = p;
	return p->s;
}

void ts_options_release(struct ts_options *o)
{
	if (!o)
		return;
	while (o->owned) {
		struct ts_str *p = o->owned;
		o->owned = p->next;
		free(p);
	}
}

static const struct ts_opt *find(const char *name)
{
	for (unsigned i = 0; i < ts_opt_count; i++)
		if (strcmp(ts_opt_table[i].name, name) == 0)
			return &ts_opt_table[i];
	return NULL;
}

static void print_bad(FILE *err, const struct ts_opt_src *src,
		      const struct ts_opt *d, const char *val, const char *why)
{
	char masked[1024];

	/* a password in a URL is never printed, not even in a complaint */
	if (d->flags & TS_OPT_SECRET) {
		ts_mask_url(val, masked, sizeof(masked));
		val = masked;
	}
	if (src->file)
		fprintf(err, "tcpscope: %s:%u: invalid value '%s' for %s: %s\n",
			src->file, src->line, val, d->name, why);
	else
		fprintf(err, "tcpscope: invalid value '%s' for --%s: %s\n", val,
			d->name, why);
}

/* Applies one value of option d (a copy of it is owned by *o). */
static int apply(const struct ts_opt *d, const char *val, struct ts_options *o,
		 const struct ts_opt_src *src, FILE *err)
{
	unsigned idx = (unsigned)(d - ts_opt_table);
	char why[160] = "";
	const char *v, *text;

	if (!d->set)
		return 0;
	/* two copies: a setter may cut its own (lists) */
	v = own(o, val ? val : "true");
	text = own(o, val ? val : "true");
	if (!v || !text) {
		fprintf(err, "tcpscope: out of memory\n");
		return -ENOMEM;
	}
	/* the command line replaces a list the file gave */
	if ((d->flags & TS_OPT_REPEAT) && !src->file && !o->from_cli[idx])
		o->ndests = 0;
	if (d->set(d, v, o, why, sizeof(why)) < 0) {
		print_bad(err, src, d, val ? val : "", why);
		return -EINVAL;
	}
	o->text[idx] = text;
	o->from_cli[idx] = !src->file;
	return 0;
}

int ts_options_set(struct ts_options *o, const char *name, const char *val,
		   char *why, size_t whylen)
{
	const struct ts_opt *d = find(name);
	char reason[160] = "";

	if (!d || !d->set || (d->flags & TS_OPT_REPEAT)) {
		snprintf(why, whylen, "no option %s can be set", name);
		return -EINVAL;
	}
	if (d->set(d, val, o, reason, sizeof(reason)) < 0) {
		snprintf(why, whylen, "invalid value '%s' for %s: %s", val,
			 d->name, reason);
		return -EINVAL;
	}
	o->text[d - ts_opt_table] = val;
	return 0;
}

static int set_defaults(struct ts_options *o)
{
	const struct ts_opt_src src = { "(default)", 0 };

	memset(o, 0, sizeof(*o));
	o->format = SINK_FMT_AUTO; /* per destination, see sink.h */
	for (unsigned i = 0; i < ts_opt_count; i++)
		if (ts_opt_table[i].def &&
		    apply(&ts_opt_table[i], ts_opt_table[i].def, o, &src,
			  stderr) < 0)
			return -EINVAL; /* a bad table: caught by the tests */
	return 0;
}

/* ---- config file ------------------------------------------------------ */

struct file_ctx {
	struct ts_options *o;
	struct ts_opt_src src;
	FILE *in, *err;
	int rc;
};

/* inih's reader: counts lines so that messages can name them. */
static char *read_line(char *buf, int n, void *arg)
{
	struct file_ctx *c = arg;
	char *s = fgets(buf, n, c->in);

	if (s)
		c->src.line++;
	return s;
}

static int on_key(void *arg, const char *section, const char *name,
		  const char *value)
{
	struct file_ctx *c = arg;
	const struct ts_opt *d = find(name);
	int rc;

	if (c->rc < 0)
		return 1; /* one message: the first bad line */
	if (section[0]) {
		fprintf(c->err,
			"tcpscope: %s:%u: sections are not used: [%s]\n",
			c->src.file, c->src.line, section);
		c->rc = -EINVAL;
	} else if (!d || (d->flags & TS_OPT_CLI_ONLY)) {
		fprintf(c->err,
			"tcpscope: %s:%u: unknown key '%s' (keys are the long "
			"options, see --help)\n",
			c->src.file, c->src.line, name);
		c->rc = -EINVAL;
	} else if ((rc = apply(d, value, c->o, &c->src, c->err)) < 0) {
		c->rc = rc;
	}
	return 1;
}

static int read_config(struct ts_options *o, const char *path, FILE *err)
{
	struct file_ctx c = { o, { path, 0 }, NULL, err, 0 };
	int rc;

	c.in = fopen(path, "re");
	if (!c.in) {
		fprintf(err, "tcpscope: cannot read config file %s: %s\n", path,
			strerror(errno));
		return -EINVAL;
	}
	/* values are taken as written: no inline ';' comments, no
	 * continuation lines */
	ini_allow_multiline = false;
	ini_allow_inline_comments = false;
	rc = ini_parse_stream(read_line, &c, on_key, &c);
	fclose(c.in);
	if (c.rc < 0)
		return c.rc;
	if (rc != 0) { /* a line inih could not read: no '=' */
		fprintf(err, "tcpscope: %s:%d: expected 'key = value'\n", path,
			rc);
		return -EINVAL;
	}
	return 0;
}

/* ---- command line ----------------------------------------------------- */

static void make_long_opts(struct option *lo)
{
	for (unsigned i = 0; i < ts_opt_count; i++) {
		lo[i].name = ts_opt_table[i].name;
		lo[i].has_arg = ts_opt_table[i].metavar ? required_argument
							: no_argument;
		lo[i].flag = NULL;
		lo[i].val = 256 + (int)i;
	}
	memset(&lo[ts_opt_count], 0, sizeof(lo[0]));
}

/* First pass: only --config, so that the file comes before the rest. */
static const char *find_config(int argc, char **argv, const struct option *lo)
{
	const char *path = NULL;
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1)
		if (c >= 256 &&
		    strcmp(ts_opt_table[c - 256].name, "config") == 0)
			path = optarg;
	return path;
}

static void print_help(FILE *out);

static int exit_option(const struct ts_opt *d, FILE *out)
{
	if (strcmp(d->name, "help") == 0)
		print_help(out);
	else
		fprintf(out, "tcpscope %s\n", TS_VERSION);
	return 1;
}

static int parse_argv(int argc, char **argv, const struct option *lo,
		      struct ts_options *o, FILE *out, FILE *err)
{
	const struct ts_opt_src src = { NULL, 0 };
	int c, rc;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c < 256) {
			fprintf(err,
				"tcpscope: unknown or incomplete option '%s' "
				"(see --help)\n",
				argv[optind - 1]);
			return -EINVAL;
		}
		const struct ts_opt *d = &ts_opt_table[c - 256];
		if (d->flags & TS_OPT_EXIT)
			return exit_option(d, out);
		rc = apply(d, optarg, o, &src, err);
		if (rc < 0)
			return rc;
	}
	if (optind < argc) {
		fprintf(err,
			"tcpscope: unexpected argument '%s' (see --help)\n",
			argv[optind]);
		return -EINVAL;
	}
	return 0;
}

int ts_options_parse(int argc, char **argv, struct ts_options *o, FILE *out,
		     FILE *err)
{
	struct option lo[TS_MAX_OPTS + 1];
	const char *config;
	int rc;

	make_long_opts(lo);
	rc = set_defaults(o);
	config = find_config(argc, argv, lo);
	if (rc == 0 && config)
		rc = read_config(o, config, err);
	if (rc == 0)
		rc = parse_argv(argc, argv, lo, o, out, err);
	if (rc != 0)
		return rc;
	if (o->once)
		o->count = 1;
	if (o->ndests == 0)
		o->dests[o->ndests++] = "stdout";
	if (o->check_config) {
		ts_options_print(o, out);
		return 1;
	}
	return 0;
}

/* ---- --help and --check-config ---------------------------------------- */

#define HELP_COL   25
#define HELP_WIDTH 79

/* Prints one help segment word-wrapped from column HELP_COL; a segment
 * that starts with spaces keeps that indent on its wrapped lines. */
static void print_wrapped(const char *h, size_t n, int first, FILE *out)
{
	size_t indent = strspn(h, " ");
	size_t col = HELP_COL;

	if (!first)
		fprintf(out, "%*s", HELP_COL, "");
	fprintf(out, "%.*s", (int)indent, h);
	col += indent;
	for (size_t i = indent; i < n;) {
		size_t w = strcspn(h + i, " \n");
		if (w > n - i)
			w = n - i;
		if (col > HELP_COL + indent && col + 1 + w > HELP_WIDTH) {
			fprintf(out, "\n%*s", (int)(HELP_COL + indent), "");
			col = HELP_COL + indent;
		} else if (col > HELP_COL + indent) {
			fputc(' ', out);
			col++;
		}
		fprintf(out, "%.*s", (int)w, h + i);
		col += w;
		i += w;
		i += strspn(h + i, " ") < n - i ? strspn(h + i, " ") : n - i;
	}
	fputc('\n', out);
}

/* "(default 10s; 1ms to 24h)" from the same bounds the setter checks. */
static void print_limits(const struct ts_opt *d, FILE *out)
{
	char lo[32], hi[32], line[128];
	int n = 0;
	int dur = d->metavar && strcmp(d->metavar, "DURATION") == 0;
	int range = d->set && d->hi && !(d->flags & TS_OPT_REPEAT);

	if (d->def && d->metavar)
		n = snprintf(line, sizeof(line), "default %s", d->def);
	if (range) {
		if (dur) {
			ts_opt_fmt_duration(d->lo, lo, sizeof(lo));
			ts_opt_fmt_duration(d->hi, hi, sizeof(hi));
		} else {
			snprintf(lo, sizeof(lo), "%llu",
				 (unsigned long long)d->lo);
			snprintf(hi, sizeof(hi), "%llu",
				 (unsigned long long)d->hi);
		}
		n += snprintf(line + n, sizeof(line) - (size_t)n,
			      "%s%s %s to %s", n ? "; " : "",
			      strcmp(d->name, "netns-dirs") == 0 ? "items"
								 : "from",
			      lo, hi);
	}
	if (n)
		fprintf(out, "%*s(%s)\n", HELP_COL, "", line);
}

/* What each kept capability is for and what is lost without it: the
 * text of the one table caps.c drops by (service/caps.h). */
static void print_caps(FILE *out)
{
	fputs("\nCapabilities: of those it is given (as root, or by its "
	      "systemd unit),\ntcpscope keeps only these and drops every "
	      "other one at startup:\n",
	      out);
	for (unsigned i = 0; i < TS_CAPS_KEPT; i++) {
		const struct ts_cap_use *c = &ts_caps_kept[i];
		char h[512];
		int n = snprintf(h, sizeof(h), "%s; without it, %s", c->used,
				 c->without);

		fprintf(out, "  %-*s", HELP_COL - 2, c->name);
		print_wrapped(h, n < (int)sizeof(h) ? (size_t)n : sizeof(h) - 1,
			      1, out);
	}
}

static void print_help(FILE *out)
{
	fputs("Usage: tcpscope [OPTIONS]\n"
	      "Stream the kernel's tcp_info for every TCP socket, polled "
	      "through\n"
	      "netlink sock_diag, as JSON lines or xtcp2-compatible "
	      "protobuf.\n",
	      out);
	for (unsigned i = 0; i < ts_opt_count; i++) {
		const struct ts_opt *d = &ts_opt_table[i];
		char head[64];
		const char *h = d->help;
		int first = 1;

		if (d->section)
			fprintf(out, "\n%s:\n", d->section);
		snprintf(head, sizeof(head), "  --%s%s%s", d->name,
			 d->metavar ? " " : "", d->metavar ? d->metavar : "");
		fprintf(out, "%-*s", HELP_COL, head);
		if (strlen(head) >= HELP_COL) {
			fputc('\n', out);
			first = 0;
		}
		while (*h) {
			size_t n = strcspn(h, "\n");
			print_wrapped(h, n, first, out);
			first = 0;
			h += n;
			h += *h == '\n';
		}
		print_limits(d, out);
	}
	print_caps(out);
	fputs("\nExit status: 0 success, 1 runtime failure (a poll failed, "
	      "or a\ndestination could not be reached at startup), 2 invalid "
	      "usage.\nSee tcpscope(8).\n",
	      out);
}

void ts_options_print(const struct ts_options *o, FILE *out)
{
	char masked[1024];

	fputs("# tcpscope: effective configuration\n", out);
	for (unsigned i = 0; i < ts_opt_count; i++) {
		const struct ts_opt *d = &ts_opt_table[i];

		if (d->flags & TS_OPT_CLI_ONLY)
			continue;
		if (d->flags & TS_OPT_REPEAT) {
			for (unsigned k = 0; k < o->ndests; k++) {
				ts_mask_url(o->dests[k], masked,
					    sizeof(masked));
				fprintf(out, "%s = %s\n", d->name, masked);
			}
			continue;
		}
		if (!o->text[i])
			fprintf(out, "# %s (not set)\n", d->name);
		else if (!d->metavar)
			fprintf(out, "%s = %s\n", d->name,
				*(const int *)((const char *)o + d->off)
					? "true"
					: "false");
		else
			fprintf(out, "%s = %s\n", d->name, o->text[i]);
	}
}

/* ---- lists ------------------------------------------------------------ */

static int add_state(const char *item, size_t len, void *ctx)
{
	uint32_t *states = ctx;
	char name[32];
	unsigned st;

	if (len >= sizeof(name))
		return -EINVAL;
	memcpy(name, item, len);
	name[len] = '\0';
	if (strcmp(name, "all") == 0)
		*states |= TS_TCP_STATES_ALL;
	else if (ts_tcp_state_from_name(name, &st) == 0)
		*states |= 1u << st;
	else
		return -EINVAL;
	return 0;
}

int ts_states_parse(const char *list, uint32_t *states_out)
{
	uint32_t states = 0;
	int rc = ts_list_each(list, add_state, &states, NULL);

	if (rc < 0)
		return rc;
	*states_out = states;
	return 0;
}
