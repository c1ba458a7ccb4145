/* detour export: placeholder until lib/export.c lands. */
#include <stdio.h>

#include "cli.h"

int cmd_export(int argc, char **argv)
{
	fprintf(stderr, "detour export: not yet\n");
	return 2;
}
