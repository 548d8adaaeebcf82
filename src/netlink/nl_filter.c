/* nl_filter.c - ss's filter syntax to inet_diag bytecode (see nl_filter.h). */
#include "nl_filter.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NODES  128
#define MAX_DEPTH  32
#define MAX_LABELS (2 * MAX_NODES + 2)
#define MAX_FIXUPS (4 * MAX_NODES)
#define TOK_MAX	   64

enum node_type { N_AND, N_OR, N_NOT, N_PORT, N_HOST, N_FALSE };
enum cmp { C_EQ, C_NE, C_LT, C_GT, C_LE, C_GE };

struct node {
	enum node_type type;
	int dst; /* N_PORT, N_HOST: the peer's side */
	enum cmp cmp;
	unsigned port; /* N_PORT: 0..65535; N_HOST: -1 = any as int */
	int hport;
	uint8_t family, prefix;
	uint8_t addr[16];
	int a, b; /* children */
};

struct parser {
	const char *expr, *p;
	char tok[TOK_MAX];
	size_t tok_col; /* 1-based column of tok */
	int have;	/* tok holds a token not yet consumed */
	struct node n[MAX_NODES];
	int nn, depth;
	char *err;
	size_t errlen;
	int failed;
};

static int fail(struct parser *ps, const char *what)
{
	if (!ps->failed) {
		if (ps->tok[0])
			snprintf(ps->err, ps->errlen, "%s at '%s' (column %zu)",
				 what, ps->tok, ps->tok_col);
		else
			snprintf(ps->err, ps->errlen, "%s at the end", what);
	}
	ps->failed = 1;
	return -1;
}

/* Operators and punctuation are tokens of their own; words run to the
 * next space, parenthesis, comma or operator character. */
static const char *next_token(struct parser *ps)
{
	static const char *const ops[] = { "&&", "||", "!=", "<=", ">=",
					   "==", "=",  "<",  ">",  "!",
					   "(",	 ")",  "," };
	const char *p = ps->p;
	size_t n = 0;

	if (ps->have)
		return ps->tok;
	while (*p == ' ' || *p == '\t' || *p == '\n')
		p++;
	ps->tok_col = (size_t)(p - ps->expr) + 1;
	for (unsigned i = 0; *p && i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strncmp(p, ops[i], strlen(ops[i])) == 0) {
			n = strlen(ops[i]);
			break;
		}
	if (!n)
		while (p[n] && !strchr(" \t\n(),!<>=&|", p[n]))
			n++;
	if (n >= TOK_MAX)
		n = TOK_MAX - 1;
	memcpy(ps->tok, p, n);
	ps->tok[n] = '\0';
	ps->p = p + n;
	while (*ps->p && !strchr(" \t\n(),!<>=&|", *ps->p) && n == TOK_MAX - 1)
		ps->p++; /* an overlong word: the rest is one token */
	ps->have = 1;
	return ps->tok;
}

static void take(struct parser *ps)
{
	ps->have = 0;
}

static int is(struct parser *ps, const char *a, const char *b)
{
	const char *t = next_token(ps);

	return strcmp(t, a) == 0 || (b && strcmp(t, b) == 0);
}

static int new_node(struct parser *ps, enum node_type t, int a, int b)
{
	if (ps->nn == MAX_NODES)
		return fail(ps, "filter too long");
	ps->n[ps->nn] = (struct node){ .type = t, .a = a, .b = b };
	return ps->nn++;
}

static int parse_port(const char *w, unsigned *out)
{
	char *end;
	unsigned long v;

	if (*w == ':')
		w++;
	if (*w < '0' || *w > '9')
		return -1;
	v = strtoul(w, &end, 10);
	if (*end || v > 65535)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static int parse_cmp(const char *t, enum cmp *c)
{
	static const struct {
		const char *name;
		enum cmp c;
	} m[] = { { "=", C_EQ },  { "==", C_EQ },  { "eq", C_EQ },
		  { "!=", C_NE }, { "neq", C_NE }, { "ne", C_NE },
		  { "<", C_LT },  { "lt", C_LT },  { ">", C_GT },
		  { "gt", C_GT }, { "<=", C_LE },  { "le", C_LE },
		  { ">=", C_GE }, { "ge", C_GE } };

	for (unsigned i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		if (strcmp(t, m[i].name) == 0) {
			*c = m[i].c;
			return 0;
		}
	return -1;
}

/* "a.b.c.d", "[v6]", "v6" (2+ colons), "*", "" with /PREFIX and :PORT. */
static int parse_host(const char *w, struct node *n)
{
	char buf[TOK_MAX], *addr = buf, *port = NULL, *pfx;
	unsigned pv = 0;

	snprintf(buf, sizeof(buf), "%s", w);
	n->hport = -1;
	if (buf[0] == '[') {
		char *rb = strchr(buf, ']');
		if (!rb)
			return -1;
		*rb = '\0';
		addr = buf + 1;
		if (rb[1] == '/') { /* [v6]/64:port is not a form ss takes */
			pfx = rb + 1;
			port = strchr(pfx, ':');
		} else if (rb[1] == ':') {
			port = rb + 1;
		} else if (rb[1]) {
			return -1;
		}
	} else {
		char *first = strchr(buf, ':'), *last = strrchr(buf, ':');
		if (first && first == last) /* v4:port, *:port, :port */
			port = first;
	}
	if (port) {
		if (parse_port(port, &pv) < 0)
			return -1;
		n->hport = (int)pv;
		*port = '\0';
	}
	pfx = strchr(addr, '/');
	if (pfx)
		*pfx++ = '\0';
	if (!*addr || strcmp(addr, "*") == 0) {
		if (pfx)
			return -1;
		n->family = AF_UNSPEC;
		n->prefix = 0;
		return 0;
	}
	if (inet_pton(AF_INET, addr, n->addr) == 1)
		n->family = AF_INET;
	else if (inet_pton(AF_INET6, addr, n->addr) == 1)
		n->family = AF_INET6;
	else
		return -1;
	n->prefix = n->family == AF_INET ? 32 : 128;
	if (pfx) {
		char *end;
		unsigned long v = strtoul(pfx, &end, 10);
		if (!*pfx || *end || v > n->prefix)
			return -1;
		n->prefix = (uint8_t)v;
	}
	return 0;
}

static int parse_expr(struct parser *ps);

static int parse_primary(struct parser *ps)
{
	int dst, port = 0, id;

	if (is(ps, "sport", "dport"))
		port = 1;
	else if (!is(ps, "src", "dst"))
		return fail(ps, "expected sport, dport, src, dst, not or '('");
	dst = ps->tok[0] == 'd';
	take(ps);
	if ((id = new_node(ps, port ? N_PORT : N_HOST, -1, -1)) < 0)
		return -1;
	struct node *n = &ps->n[id];
	n->dst = dst;
	if (port) {
		if (parse_cmp(next_token(ps), &n->cmp) < 0)
			return fail(ps,
				    "expected a comparison (= != < > <= >=)");
		take(ps);
		if (parse_port(next_token(ps), &n->port) < 0)
			return fail(ps, "expected a port number 0..65535");
		take(ps);
		return id;
	}
	if (is(ps, "=", "=="))
		take(ps);
	if (parse_host(next_token(ps), n) < 0)
		return fail(ps, "expected ADDR[/PREFIX][:PORT] ([IPv6]:PORT)");
	take(ps);
	return id;
}

static int parse_factor(struct parser *ps)
{
	int id;

	if (++ps->depth > MAX_DEPTH)
		return fail(ps, "filter nested too deep");
	if (is(ps, "not", "!")) {
		take(ps);
		id = parse_factor(ps);
		id = id < 0 ? -1 : new_node(ps, N_NOT, id, -1);
	} else if (is(ps, "(", NULL)) {
		take(ps);
		id = parse_expr(ps);
		if (id >= 0 && !is(ps, ")", NULL))
			return fail(ps, "expected ')'");
		take(ps);
	} else {
		id = parse_primary(ps);
	}
	ps->depth--;
	return id;
}

/* Where a factor can start: juxtaposed factors are and-ed, as in ss. */
static int factor_starts(struct parser *ps)
{
	const char *t = next_token(ps);
	static const char *const w[] = { "not",	  "!",	 "(",  "sport",
					 "dport", "src", "dst" };

	for (unsigned i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		if (strcmp(t, w[i]) == 0)
			return 1;
	return 0;
}

static int parse_term(struct parser *ps)
{
	int a = parse_factor(ps);

	while (a >= 0) {
		if (is(ps, "and", "&&"))
			take(ps);
		else if (!factor_starts(ps))
			break;
		int b = parse_factor(ps);
		a = b < 0 ? -1 : new_node(ps, N_AND, a, b);
	}
	return a;
}

static int parse_expr(struct parser *ps)
{
	int a = parse_term(ps);

	while (a >= 0 && (is(ps, "or", "||") || is(ps, ",", NULL))) {
		take(ps);
		int b = parse_term(ps);
		a = b < 0 ? -1 : new_node(ps, N_OR, a, b);
	}
	return a;
}

/* ---- code generation: forward jumps to labels, resolved at the end ---- */

struct gen {
	uint8_t *bc;
	size_t cap, len;
	int overflow;
	size_t label[MAX_LABELS]; /* byte offsets; SIZE_MAX: not yet */
	int nlabels;
	struct {
		size_t op; /* offset of the op whose `no` jumps */
		int label;
	} fix[MAX_FIXUPS];
	int nfix;
};

#define REJECT 0 /* label 0: one op past the end, where the kernel rejects */

static int new_label(struct gen *g)
{
	if (g->nlabels == MAX_LABELS) {
		g->overflow = 1;
		return REJECT;
	}
	g->label[g->nlabels] = (size_t)-1;
	return g->nlabels++;
}

static void put(struct gen *g, const void *p, size_t n)
{
	if (n == 0) /* a JMP has no payload (p may be NULL) */
		return;
	if (g->len + n > g->cap) {
		g->overflow = 1;
		return;
	}
	memcpy(g->bc + g->len, p, n);
	g->len += n;
}

/* An op whose false branch jumps to `label`; payload follows it. */
static void op(struct gen *g, uint8_t code, int label, const void *payload,
	       size_t plen)
{
	struct inet_diag_bc_op o = { .code = code,
				     .yes = (uint8_t)(sizeof(o) + plen) };

	if (g->nfix == MAX_FIXUPS) {
		g->overflow = 1;
		return;
	}
	g->fix[g->nfix].op = g->len;
	g->fix[g->nfix++].label = label;
	put(g, &o, sizeof(o));
	put(g, payload, plen);
}

static void port_op(struct gen *g, int dst, int ge, unsigned port, int f)
{
	struct inet_diag_bc_op arg = { .no = (uint16_t)port };
	uint8_t code = dst ? (ge ? INET_DIAG_BC_D_GE : INET_DIAG_BC_D_LE)
			   : (ge ? INET_DIAG_BC_S_GE : INET_DIAG_BC_S_LE);

	op(g, code, f, &arg, sizeof(arg));
}

static void gen(struct gen *g, const struct node *nodes, int id, int f);

/* True falls through; false jumps to f. */
static void gen_port(struct gen *g, const struct node *n, int f)
{
	switch (n->cmp) {
	case C_EQ:
		port_op(g, n->dst, 1, n->port, f);
		port_op(g, n->dst, 0, n->port, f);
		break;
	case C_GE:
		port_op(g, n->dst, 1, n->port, f);
		break;
	case C_LE:
		port_op(g, n->dst, 0, n->port, f);
		break;
	case C_GT: /* nothing is above 65535 */
		if (n->port == 65535)
			op(g, INET_DIAG_BC_JMP, f, NULL, 0);
		else
			port_op(g, n->dst, 1, n->port + 1, f);
		break;
	case C_LT:
		if (n->port == 0)
			op(g, INET_DIAG_BC_JMP, f, NULL, 0);
		else
			port_op(g, n->dst, 0, n->port - 1, f);
		break;
	case C_NE: {
		struct node eq = *n;
		int l = new_label(g);
		eq.cmp = C_EQ;
		gen_port(g, &eq, l);
		op(g, INET_DIAG_BC_JMP, f, NULL, 0);
		g->label[l] = g->len;
		break;
	}
	}
}

static void gen_host(struct gen *g, const struct node *n, int f)
{
	unsigned char buf[sizeof(struct inet_diag_hostcond) + 16];
	struct inet_diag_hostcond hc = { .family = n->family,
					 .prefix_len = n->prefix,
					 .port = n->hport };
	size_t alen = n->family == AF_INET ? 4 : n->family == AF_INET6 ? 16 : 0;

	memcpy(buf, &hc, sizeof(hc));
	memcpy(buf + sizeof(hc), n->addr, alen);
	op(g, n->dst ? INET_DIAG_BC_D_COND : INET_DIAG_BC_S_COND, f, buf,
	   sizeof(hc) + alen);
}

static void gen(struct gen *g, const struct node *nodes, int id, int f)
{
	const struct node *n = &nodes[id];
	int l, e;

	switch (n->type) {
	case N_AND:
		gen(g, nodes, n->a, f);
		gen(g, nodes, n->b, f);
		break;
	case N_OR: /* a true: over b to the end; a false: try b */
		l = new_label(g);
		e = new_label(g);
		gen(g, nodes, n->a, l);
		op(g, INET_DIAG_BC_JMP, e, NULL, 0);
		g->label[l] = g->len;
		gen(g, nodes, n->b, f);
		g->label[e] = g->len;
		break;
	case N_NOT: /* a true: jump to f; a false: fall through */
		l = new_label(g);
		gen(g, nodes, n->a, l);
		op(g, INET_DIAG_BC_JMP, f, NULL, 0);
		g->label[l] = g->len;
		break;
	case N_PORT:
		gen_port(g, n, f);
		break;
	case N_HOST:
		gen_host(g, n, f);
		break;
	case N_FALSE:
		op(g, INET_DIAG_BC_JMP, f, NULL, 0);
		break;
	}
}

/* Every `no` becomes the forward distance to its label. */
static int resolve(struct gen *g)
{
	g->label[REJECT] = g->len + 4;
	for (int i = 0; i < g->nfix; i++) {
		size_t to = g->label[g->fix[i].label], at = g->fix[i].op;
		struct inet_diag_bc_op o;
		if (to == (size_t)-1 || to <= at || to - at > 0xffff)
			return -1;
		memcpy(&o, g->bc + at, sizeof(o));
		o.no = (uint16_t)(to - at);
		memcpy(g->bc + at, &o, sizeof(o));
	}
	return 0;
}

int nl_filter_compile(const char *expr, uint8_t *bc, size_t cap,
		      size_t *len_out, char *err, size_t errlen)
{
	struct parser *ps = calloc(1, sizeof(*ps));
	struct gen *g = calloc(1, sizeof(*g));
	uint8_t *tmp = malloc(cap ? cap : 1);
	int rc = -EINVAL, root;

	if (!ps || !g || !tmp) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	ps->expr = ps->p = expr;
	ps->err = err;
	ps->errlen = errlen;
	root = parse_expr(ps);
	if (root >= 0 && next_token(ps)[0])
		root = fail(ps, "expected and, or or the end");
	if (root < 0) {
		if (!expr[strspn(expr, " \t\n")])
			snprintf(err, errlen, "empty filter");
		goto out;
	}
	g->bc = tmp;
	g->cap = cap;
	g->nlabels = 1; /* REJECT */
	gen(g, ps->n, root, REJECT);
	if (g->overflow || resolve(g) < 0) {
		snprintf(err, errlen,
			 "filter too complex (more than %zu bytes of bytecode)",
			 cap);
		goto out;
	}
	memcpy(bc, tmp, g->len);
	*len_out = g->len;
	rc = 0;
out:
	free(tmp);
	free(g);
	free(ps);
	return rc;
}

/* ---- the kernel's evaluation, in user space ---------------------------- */

static int bits_match(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned bytes = bits / 8, rest = bits % 8;

	if (memcmp(a, b, bytes) != 0)
		return 0;
	if (rest) {
		uint8_t mask = (uint8_t)(0xff << (8 - rest));
		if ((a[bytes] ^ b[bytes]) & mask)
			return 0;
	}
	return 1;
}

static int host_match(const uint8_t *p, size_t avail, int dst,
		      const struct nl_filter_sock *s)
{
	struct inet_diag_hostcond hc;
	const uint8_t *addr = dst ? s->dst : s->src;
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0,    0,
					    0, 0, 0, 0, 0xff, 0xff };

	if (avail < sizeof(hc))
		return 0;
	memcpy(&hc, p, sizeof(hc));
	if (hc.port != -1 && hc.port != (dst ? s->dport : s->sport))
		return 0;
	if (hc.prefix_len == 0)
		return 1;
	if (avail < sizeof(hc) + (hc.family == AF_INET ? 4 : 16))
		return 0;
	p += sizeof(hc);
	if (hc.family != AF_UNSPEC && hc.family != s->family)
		return s->family == AF_INET6 && hc.family == AF_INET &&
		       memcmp(addr, mapped, 12) == 0 &&
		       bits_match(addr + 12, p, hc.prefix_len);
	return bits_match(addr, p, hc.prefix_len);
}

int nl_filter_run(const uint8_t *bc, size_t len, const struct nl_filter_sock *s)
{
	long left = (long)len;

	while (left > 0) {
		struct inet_diag_bc_op o, arg = { 0 };
		int yes = 1, step;
		if (left < (long)sizeof(o))
			return 0;
		memcpy(&o, bc, sizeof(o));
		if (left >= 8)
			memcpy(&arg, bc + 4, sizeof(arg));
		switch (o.code) {
		case INET_DIAG_BC_NOP:
			break;
		case INET_DIAG_BC_JMP:
			yes = 0;
			break;
		case INET_DIAG_BC_S_GE:
			yes = s->sport >= arg.no;
			break;
		case INET_DIAG_BC_S_LE:
			yes = s->sport <= arg.no;
			break;
		case INET_DIAG_BC_D_GE:
			yes = s->dport >= arg.no;
			break;
		case INET_DIAG_BC_D_LE:
			yes = s->dport <= arg.no;
			break;
		case INET_DIAG_BC_S_COND:
		case INET_DIAG_BC_D_COND:
			yes = host_match(bc + 4, (size_t)left - 4,
					 o.code == INET_DIAG_BC_D_COND, s);
			break;
		default:
			return 0;
		}
		step = yes ? o.yes : o.no;
		if (step <= 0)
			return 0; /* would loop: not a program we made */
		left -= step;
		bc += step;
	}
	return left == 0;
}

/* Whether `want` bytes before the end is an op boundary of the yes-chain
 * (the kernel's valid_cc). */
static int on_chain(const uint8_t *bc, size_t len, long want)
{
	long left = (long)len;

	while (left > want) {
		struct inet_diag_bc_op o;
		memcpy(&o, bc, sizeof(o));
		if (o.yes < 4 || (o.yes & 3))
			return 0;
		left -= o.yes;
		bc += o.yes;
	}
	return left == want;
}

int nl_filter_valid(const uint8_t *bc, size_t len)
{
	const uint8_t *p = bc;
	long left = (long)len;

	while (left > 0) {
		struct inet_diag_bc_op o;
		if (left < (long)sizeof(o))
			return 0;
		memcpy(&o, p, sizeof(o));
		if (o.yes < 4 || o.yes > left + 4 || (o.yes & 3))
			return 0;
		if (o.code != INET_DIAG_BC_NOP &&
		    (o.no < 4 || o.no > left + 4 || (o.no & 3) ||
		     (o.no < left && !on_chain(bc, len, left - o.no))))
			return 0;
		left -= o.yes;
		p += o.yes;
	}
	return left == 0;
}
