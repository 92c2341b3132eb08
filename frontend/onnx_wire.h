/*
 * onnx_wire.h - private to frontend/: a pre-scan of ModelProto bytes before
 * protobuf-c sees them.
 *
 * protobuf-c's unpacker recurses once per nested message, merges repeated
 * occurrences of a singular message field by copying (quadratic in the number
 * of occurrences) and allocates a whole C struct for every message, however few
 * bytes it took on the wire. kiln_onnx_wire_check walks the wire format alone,
 * with the same message descriptors the unpacker will use, and refuses input
 * that would make any of that dangerous:
 *  - a tag, wire type, varint or length that does not fit the bytes that
 *    remain (truncated or corrupt input),
 *  - graphs and types nested deeper than KILN_ONNX_MAX_DEPTH,
 *  - a singular message field that occurs twice in one message,
 *  - an estimated decoded size far beyond what the input's size justifies.
 * It allocates nothing and recurses at most a fixed number of frames per
 * nesting level, so its own stack use is bounded by the depth cap.
 */
#ifndef KILN_ONNX_WIRE_H
#define KILN_ONNX_WIRE_H

#include <stddef.h>

#include "ir/diag.h"

/* KILN_OK when buf[0..len) may be handed to onnx__model_proto__unpack; otherwise
 * KILN_ERR_INVALID (or KILN_ERR_UNSUPPORTED for a nesting or size limit) with a
 * file-level diagnostic on d. */
enum kiln_status kiln_onnx_wire_check(const void *buf, size_t len, struct kiln_diag *d);

#endif
