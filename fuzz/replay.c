/* detour: a fuzz target as a plain program, for `make test`: calls the
 * target's LLVMFuzzerTestOneInput once on each file named on the command
 * line (the inputs of fuzz/regression/NAME/, crashes found once and kept).
 * Built with the ASan+UBSan flags of the unit tests, not with libFuzzer, so
 * that replaying needs no clang build. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

int main(int argc, char **argv)
{
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		if (f == NULL) {
			perror(argv[i]);
			return 1;
		}
		fseek(f, 0, SEEK_END);
		long n = ftell(f);
		rewind(f);
		/* An exact-size heap copy: ASan sees a read past the input. */
		uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
		if (buf == NULL || (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)) {
			fprintf(stderr, "%s: cannot read\n", argv[i]);
			return 1;
		}
		fclose(f);
		LLVMFuzzerTestOneInput(buf, (size_t)n);
		free(buf);
	}
	printf("replay: %s: %d input%s, clean\n", argv[0], argc - 1, argc == 2 ? "" : "s");
	return 0;
}
