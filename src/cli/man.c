/* detour command line: the generated parts of the man pages, see man.h. */
#include <string.h>

#include "cli.h"
#include "cli_opts.h"
#include "detour/config.h"
#include "detour/ruleopts.h"
#include "man.h"

/* One entry of detour.conf(5) or detour-rules(5): the usage line, its name
 * in bold ("*listen* _ADDR:PORT_ [tls]", "*query=*keep|drop|merge"), then
 * the text, indented. */
static void entry(const char *usage, const char *doc, bool opt, FILE *f)
{
	size_t n = opt ? strcspn(usage, "=") + (usage[strcspn(usage, "=")] == '=')
	               : strcspn(usage, " ");

	fprintf(f, "*%.*s*", (int)n, usage);
	cli_man_placeholders(usage + n, f);
	fputc('\n', f);
	for (const char *h = doc; *h;) {
		size_t l = strcspn(h, "\n");
		fprintf(f, "\t%.*s\n", (int)l, h);
		h += l;
		if (*h == '\n')
			h++;
	}
}

int man_topic(const char *topic, FILE *f)
{
	static const struct {
		const char *name;
		const struct cli_cmd *cmd;
	} cmds[] = {
	        {"serve", &cli_serve_cmd}, {"explain", &cli_explain_cmd}, {"check", &cli_check_cmd},
	        {"lint", &cli_lint_cmd},   {"ctl", &cli_ctl_cmd},
	};
	const char *usage, *doc;

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(topic, cmds[i].name)) {
			cli_man(cmds[i].cmd, f);
			return 0;
		}
	if (!strcmp(topic, "conf")) {
		for (size_t i = 0; detour_config_directive(i, &usage, &doc); i++) {
			if (i)
				fputc('\n', f);
			entry(usage, doc, false, f);
		}
		return 0;
	}
	if (!strcmp(topic, "rules")) {
		for (size_t i = 0; detour_rule_option_doc(i, &usage, &doc); i++) {
			if (i)
				fputc('\n', f);
			entry(usage, doc, true, f);
		}
		return 0;
	}
	fprintf(stderr,
	        "detour help: --man takes serve, explain, check, lint, ctl, conf or rules, "
	        "not '%s'\n",
	        topic);
	return 2;
}
