/* detour: what every fuzz target shares: the libFuzzer entry point's
 * prototype (-Wmissing-prototypes) and CHECK, an invariant whose failure
 * is a finding (it names itself, then aborts for libFuzzer to keep the
 * input). */
#ifndef DETOUR_FUZZ_H
#define DETOUR_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "invariant failed: %s (%s:%d)\n", #c, __FILE__, __LINE__); \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#endif
