// libFuzzer's driver (compiler-rt, linked by -sanitize=fuzzer): runs `callback` on every input as
// libFuzzer's own main would, with the same command line.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
