/*
 * libfuzzer_main.c - the libFuzzer entry of one reader: built once per reader
 * with -DKILN_FUZZ_READER=kiln_fuzz_onnx (kiln_fuzz_kir, kiln_fuzz_npy) and
 * clang's -fsanitize=fuzzer,address,undefined (tests/CMakeLists.txt, option
 * KILN_FUZZ). The input is the file, whole.
 */
#include <stdint.h>

#include "fuzz_readers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    KILN_FUZZ_READER(data, len);
    return 0;
}
