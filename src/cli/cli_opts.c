/* detour command line: option tables -> getopt_long and --help. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "cli_opts.h"

/* The help texts start in this column at the latest; a longer row is
 * followed by two spaces. */
#define HELP_COL_MAX 22

static bool is_short(int key)
{
	return key > 0 && key < CLI_LONG;
}

void cli_parse_init(struct cli_parser *p, const struct cli_cmd *cmd, int argc, char **argv)
{
	size_t n = 0, s = 0;

	memset(p, 0, sizeof(*p));
	p->cmd = cmd;
	p->argc = argc;
	p->argv = argv;
	if (cmd->stop_at_operand)
		p->shorts[s++] = '+';
	p->shorts[s++] = ':'; /* a missing argument returns ':', not '?' */
	for (const struct cli_opt *o = cmd->opts; o->name || o->arg; o++) {
		if (o->name == NULL)
			continue;
		assert(n < CLI_MAX_OPTS); /* a bigger table needs a bigger CLI_MAX_OPTS */
		p->lo[n].name = o->name;
		p->lo[n].has_arg = o->arg ? required_argument : no_argument;
		p->lo[n].val = o->key;
		n++;
		if (is_short(o->key)) {
			p->shorts[s++] = (char)o->key;
			if (o->arg)
				p->shorts[s++] = ':';
		}
	}
	/* getopt's state is global: optind 0 starts a new scan (and makes glibc
	 * read the '+' again); opterr 0 leaves the messages to cli_next. */
	optind = 0;
	opterr = 0;
}

static const struct cli_opt *find(const struct cli_cmd *cmd, int key)
{
	for (const struct cli_opt *o = cmd->opts; o->name || o->arg; o++)
		if (o->name && o->key == key)
			return o;
	return NULL;
}

/* The spelling of the option getopt_long just returned (or failed on):
 * "-c" for a short letter, else "--name" from argv without "=value". */
static void spelling(struct cli_parser *p, int key, bool long_form)
{
	if (!long_form && is_short(key)) {
		snprintf(p->spelling, sizeof(p->spelling), "-%c", key);
		return;
	}
	const char *a = optind > 0 && optind <= p->argc ? p->argv[optind - 1] : "";
	/* A long option with its argument in the next word: the option is the
	 * word before. */
	if (p->arg && a == p->arg && optind > 1)
		a = p->argv[optind - 2];
	snprintf(p->spelling, sizeof(p->spelling), "%.*s", (int)strcspn(a, "="), a);
}

/* Whether the word getopt_long just consumed was a long option. */
static bool was_long(const struct cli_parser *p)
{
	const char *a = optind > 0 && optind <= p->argc ? p->argv[optind - 1] : "";
	if (p->arg && a == p->arg && optind > 1)
		a = p->argv[optind - 2];
	return a[0] == '-' && a[1] == '-';
}

/* "detour NAME: " or "detour: ". */
static void prefix(const struct cli_cmd *cmd)
{
	fprintf(stderr, "detour%s%s: ", cmd->name ? " " : "", cmd->name ? cmd->name : "");
}

int cli_next(struct cli_parser *p)
{
	int idx = -1;
	int k = getopt_long(p->argc, p->argv, p->shorts, p->lo, &idx);

	p->arg = optarg;
	if (k == -1)
		return CLI_END;
	if (k == ':') {
		/* A missing argument; glibc sets optopt to the option's key. */
		const struct cli_opt *o = find(p->cmd, optopt);
		p->arg = NULL;
		spelling(p, optopt, was_long(p));
		prefix(p->cmd);
		fprintf(stderr, "%s needs %s\n", p->spelling,
		        o && o->what ? o->what : "an argument");
		return CLI_BAD;
	}
	if (k == '?') {
		p->arg = NULL;
		if (optopt && find(p->cmd, optopt) && was_long(p)) {
			/* "--json=1": a known option given a value it does not take. */
			spelling(p, optopt, true);
			prefix(p->cmd);
			fprintf(stderr, "%s takes no value\n", p->spelling);
			return CLI_BAD;
		}
		if (optopt)
			snprintf(p->spelling, sizeof(p->spelling), "-%c", optopt);
		else
			spelling(p, 0, true);
		cli_unknown(p->cmd, p->spelling);
		return CLI_BAD;
	}
	spelling(p, k, idx >= 0);
	return k;
}

int cli_operand(const struct cli_parser *p)
{
	return optind;
}

int cli_operands(const struct cli_parser *p, int n)
{
	int first = cli_operand(p);

	if (p->argc - first != n) {
		cli_help(p->cmd, stderr);
		return -1;
	}
	return first;
}

/* The flags part of row o and its alias rows: "-c, --config FILE". */
static size_t row_flags(const struct cli_opt *o, bool short_col, char *out, size_t cap)
{
	struct bbuf b;

	bbuf_fixed(&b, out, cap - 1); /* and the NUL */
	if (o->name == NULL) {
		bbuf_puts(&b, o->arg);
	} else {
		if (is_short(o->key)) {
			bbuf_putc(&b, '-');
			bbuf_putc(&b, (char)o->key);
			BBUF_LIT(&b, ", ");
		} else if (short_col) {
			BBUF_LIT(&b, "    ");
		}
		BBUF_LIT(&b, "--");
		bbuf_puts(&b, o->name);
		if (o->arg) {
			bbuf_putc(&b, ' ');
			bbuf_puts(&b, o->arg);
		}
	}
	for (const struct cli_opt *a = o + 1; o->name && a->name && a->help == NULL; a++) {
		BBUF_LIT(&b, ", --");
		bbuf_puts(&b, a->name);
		if (a->arg) {
			bbuf_putc(&b, ' ');
			bbuf_puts(&b, a->arg);
		}
	}
	out[b.len] = '\0';
	return b.len;
}

void cli_help(const struct cli_cmd *cmd, FILE *f)
{
	const struct cli_opt *o;
	bool short_col = false;
	size_t width = 0;
	char flags[160];

	if (cmd->help) {
		cmd->help(f);
		return;
	}
	for (o = cmd->opts; o->name || o->arg; o++)
		if (o->name && is_short(o->key))
			short_col = true;
	for (o = cmd->opts; o->name || o->arg; o++) {
		size_t n = row_flags(o, short_col, flags, sizeof(flags));
		if (o->help && n <= HELP_COL_MAX && n > width)
			width = n;
	}
	fputs(cmd->usage, f);
	for (o = cmd->opts; o->name || o->arg; o++) {
		if (o->help == NULL)
			continue; /* an alias, listed with the row before */
		size_t n = row_flags(o, short_col, flags, sizeof(flags));
		fprintf(f, "  %s%*s", flags, n < width ? (int)(width - n + 2) : 2, "");
		for (const char *h = o->help; *h;) {
			size_t l = strcspn(h, "\n");
			fprintf(f, "%.*s\n", (int)l, h);
			h += l;
			if (*h == '\n' && *++h)
				fprintf(f, "%*s", (int)width + 4, "");
		}
	}
	if (cmd->epilog)
		fputs(cmd->epilog, f);
}

static bool placeholder_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == ':' || c == '_' || c == '.' || c == '-' || c == '/';
}

static void man_escaped(const char *s, size_t n, FILE *f)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '*' || s[i] == '_' || s[i] == '\\')
			fputc('\\', f);
		fputc(s[i], f);
	}
}

void cli_man_placeholders(const char *s, FILE *f)
{
	while (*s) {
		size_t n = 0;
		bool upper = false, lower = false;

		while (placeholder_char(s[n])) {
			upper |= s[n] >= 'A' && s[n] <= 'Z';
			lower |= s[n] >= 'a' && s[n] <= 'z';
			n++;
		}
		/* "FILE", "HOST:PORT:ADDR", "N"; not "-", "off", "HTTP-date";
		 * "HOST..." is "_HOST_..." */
		while (n > 0 && s[n - 1] == '.')
			n--;
		if (n > 0 && upper && !lower && s[0] != '-') {
			fputc('_', f);
			man_escaped(s, n, f);
			fputc('_', f);
			s += n;
			continue;
		}
		if (n == 0)
			n = 1;
		man_escaped(s, n, f);
		s += n;
	}
}

/* "*-c, --config* _FILE_": the flags of o in bold, its argument in
 * italics. */
static void man_flags(const struct cli_opt *o, FILE *f)
{
	if (is_short(o->key))
		fprintf(f, "*-%c, --", o->key);
	else
		fputs("*--", f);
	man_escaped(o->name, strlen(o->name), f);
	fputc('*', f);
	if (o->arg) {
		fputc(' ', f);
		cli_man_placeholders(o->arg, f);
	}
}

void cli_man(const struct cli_cmd *cmd, FILE *f)
{
	bool first = true;

	for (const struct cli_opt *o = cmd->opts; o->name || o->arg; o++) {
		if (o->help == NULL || o->name == NULL)
			continue; /* aliases are listed with their row; operands in SYNOPSIS */
		if (!first)
			fputc('\n', f);
		first = false;
		man_flags(o, f);
		for (const struct cli_opt *a = o + 1; a->name && a->help == NULL; a++) {
			fputs(", ", f);
			man_flags(a, f);
		}
		fputc('\n', f);
		for (const char *h = o->help; *h;) {
			size_t l = strcspn(h, "\n");
			fputc('\t', f);
			man_escaped(h, l, f);
			fputc('\n', f);
			h += l;
			if (*h == '\n')
				h++;
		}
	}
}

int cli_unknown(const struct cli_cmd *cmd, const char *what)
{
	prefix(cmd);
	fprintf(stderr, "unknown option '%s'\n", what);
	cli_help(cmd, stderr);
	return 2;
}
