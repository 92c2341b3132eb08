/*
 * onnx_wire.c - the protobuf wire-format pre-scan of a ModelProto (contract in
 * onnx_wire.h).
 *
 * The walk is driven by protobuf-c's own message descriptors (generated from the
 * same onnx.proto), so it can never disagree with the unpacker about which
 * field holds which message: ModelProto.graph = 7 -> GraphProto.node = 1 ->
 * NodeProto.attribute = 5 -> AttributeProto.g = 6 / graphs = 11 -> GraphProto,
 * ValueInfoProto.type = 2 -> TypeProto.sequence_type = 4 / map_type = 5 /
 * optional_type = 9 -> ... -> TypeProto, ModelProto.functions = 25 ->
 * FunctionProto.node = 7, ModelProto.training_info = 20 -> GraphProto,
 * AttributeProto.tp = 14 / type_protos = 15 -> TypeProto, and every message
 * field with a bounded depth besides (tensors, shapes, string pairs). Unknown
 * fields and scalars are skipped after their bounds are checked.
 *
 * Depth: graphs and types are counted apart, since no type holds a graph:
 * more than KILN_ONNX_MAX_DEPTH GraphProtos one inside the other (the main graph
 * is the first), or TypeProtos one inside the other, are refused. In the ONNX
 * schema every cycle of message types passes through one of those two, taking
 * at most 3 frames per graph level (GraphProto -> NodeProto -> AttributeProto)
 * and 2 per type level (TypeProto -> Sequence, Map or Optional), so the
 * recursion is bounded; a frame cap of that size backs the counts up should a
 * future onnx.proto add a cycle that avoids both.
 *
 * Cost: one pass over the bytes, no allocation.
 */
#include "frontend/onnx_wire.h"

#include <stdbool.h>
#include <stdint.h>

#include "frontend/onnx.h"
#include "onnx/onnx.pb-c.h"

/* Backstop on recursion frames, whatever the schema (see above): the model, a
 * value info and the bounded tail (tensor, shape, dim) add a few. */
#define WIRE_MAX_FRAMES ((3 + 2) * KILN_ONNX_MAX_DEPTH + 8)

/*
 * Decoded-size budget. protobuf-c allocates a whole C struct per message (the
 * largest ONNX ones take about 250 bytes) even for a message that took two bytes
 * on the wire, so a file of empty attributes decodes to ~100 times its size.
 * Real models stay far below the budget (measured on the onnx package's test
 * models: 5 to 9 times for graphs without weights, up to 14 for the tiniest
 * single-op models, 2.5 for examples/tinynet.onnx, less the more of a model is
 * weights); beyond it the input is refused before the unpacker allocates
 * anything.
 */
#define WIRE_BUDGET_FACTOR 32
#define WIRE_BUDGET_SLACK ((uint64_t)64 << 20)

struct wire {
    const uint8_t *buf;
    size_t len;
    uint64_t decoded; /* estimated bytes the unpacker will allocate */
    struct kiln_diag *d;
};

enum wire_varint_result { WIRE_VARINT_OK, WIRE_VARINT_SHORT, WIRE_VARINT_LONG };

static enum kiln_status wire_fail(struct wire *w, enum kiln_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum kiln_status
wire_fail(struct wire *w, enum kiln_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kiln_diag_vmsg(w->d, KILN_SEV_ERROR, "", fmt, ap);
    va_end(ap);
    return st;
}

/* Read the varint at *pos, which must end before `end`. Longer than 10 bytes is
 * not a varint at all (a 64-bit value needs at most 10). */
static enum wire_varint_result
wire_varint(const struct wire *w, size_t *pos, size_t end, uint64_t *out)
{
    uint64_t v = 0;
    for (int i = 0; i < 10; i++) {
        if (*pos >= end)
            return WIRE_VARINT_SHORT;
        uint8_t b = w->buf[(*pos)++];
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *out = v;
            return WIRE_VARINT_OK;
        }
    }
    return WIRE_VARINT_LONG;
}

/* The error for a field whose bytes run past `end`: the end of the input (the
 * file was cut short) or the end of the message around it (corrupt). */
static enum kiln_status
wire_overrun(struct wire *w, size_t at, size_t end, uint32_t field)
{
    if (end == w->len)
        return wire_fail(w, KILN_ERR_INVALID,
                         "not an ONNX model (truncated: field %u at byte %zu "
                         "runs past the end of the file)",
                         field, at);
    return wire_fail(w, KILN_ERR_INVALID,
                     "not an ONNX model (corrupt: field %u at byte %zu runs past the end of "
                     "the message that holds it)",
                     field, at);
}

static enum kiln_status
wire_varint_fail(struct wire *w, enum wire_varint_result r, size_t at, size_t end, uint32_t field)
{
    if (r == WIRE_VARINT_SHORT)
        return wire_overrun(w, at, end, field);
    return wire_fail(w, KILN_ERR_INVALID, "not an ONNX model (malformed varint at byte %zu)", at);
}

/* How deep a message lies: GraphProtos and TypeProtos around it (itself included),
 * and messages of any type. */
struct wire_depth {
    int graphs, types, frames;
};

/* Scan the message of type desc in buf[pos, end), whose enclosing messages are `outer`. */
static enum kiln_status
wire_message(struct wire *w, const ProtobufCMessageDescriptor *desc, size_t pos, size_t end,
             struct wire_depth outer)
{
    struct wire_depth depth = outer;
    depth.graphs += desc == &onnx__graph_proto__descriptor;
    depth.types += desc == &onnx__type_proto__descriptor;
    depth.frames++;
    if (depth.graphs > KILN_ONNX_MAX_DEPTH)
        return wire_fail(w, KILN_ERR_UNSUPPORTED, "graphs nest deeper than %d levels (at byte %zu)",
                         KILN_ONNX_MAX_DEPTH, pos);
    if (depth.types > KILN_ONNX_MAX_DEPTH)
        return wire_fail(w, KILN_ERR_UNSUPPORTED, "types nest deeper than %d levels (at byte %zu)",
                         KILN_ONNX_MAX_DEPTH, pos);
    if (depth.frames > WIRE_MAX_FRAMES)
        return wire_fail(w, KILN_ERR_UNSUPPORTED,
                         "messages nest deeper than %d levels (at byte %zu)", WIRE_MAX_FRAMES, pos);
    w->decoded += desc->sizeof_message;
    /* singular message fields seen, by index into desc->fields: protobuf-c merges a
     * repeat by copying every repeated field of both, which a hostile file can
     * make quadratic; no ONNX writer emits one */
    uint64_t seen[4] = {0};
    while (pos < end) {
        size_t at = pos;
        uint64_t key;
        enum wire_varint_result r = wire_varint(w, &pos, end, &key);
        if (r != WIRE_VARINT_OK)
            return wire_varint_fail(w, r, at, end, 0);
        uint64_t field64 = key >> 3;
        unsigned wt = (unsigned)(key & 7);
        if (field64 == 0 || field64 > 0x1fffffff)
            return wire_fail(w, KILN_ERR_INVALID,
                             "not an ONNX model (invalid field number %llu at byte %zu)",
                             (unsigned long long)field64, at);
        uint32_t field = (uint32_t)field64;
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(desc, field);
        if (!f)
            w->decoded += sizeof(ProtobufCMessageUnknownField);
        uint64_t n;
        switch (wt) {
        case 0: /* varint */
            r = wire_varint(w, &pos, end, &n);
            if (r != WIRE_VARINT_OK)
                return wire_varint_fail(w, r, at, end, field);
            break;
        case 1: /* 64-bit */
            if (end - pos < 8)
                return wire_overrun(w, at, end, field);
            pos += 8;
            break;
        case 5: /* 32-bit */
            if (end - pos < 4)
                return wire_overrun(w, at, end, field);
            pos += 4;
            break;
        case 2: /* length-delimited */
            r = wire_varint(w, &pos, end, &n);
            if (r != WIRE_VARINT_OK)
                return wire_varint_fail(w, r, at, end, field);
            if (n > end - pos)
                return wire_overrun(w, at, end, field);
            if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
                size_t idx = (size_t)(f - desc->fields);
                if (f->label == PROTOBUF_C_LABEL_REPEATED) {
                    w->decoded += sizeof(void *);
                } else if (idx < 64 * sizeof seen / sizeof seen[0]) {
                    uint64_t bit = UINT64_C(1) << (idx % 64);
                    if (seen[idx / 64] & bit)
                        return wire_fail(w, KILN_ERR_INVALID,
                                         "not an ONNX model (field '%s' of %s occurs twice, "
                                         "at byte %zu)",
                                         f->name, desc->short_name, at);
                    seen[idx / 64] |= bit;
                }
                enum kiln_status st = wire_message(w, f->descriptor, pos, pos + (size_t)n, depth);
                if (st != KILN_OK)
                    return st;
            }
            pos += (size_t)n;
            break;
        default: /* 3, 4: groups, which ONNX never uses; 6, 7: undefined */
            return wire_fail(w, KILN_ERR_INVALID,
                             "not an ONNX model (invalid wire type %u at byte %zu)", wt, at);
        }
    }
    return KILN_OK;
}

enum kiln_status
kiln_onnx_wire_check(const void *buf, size_t len, struct kiln_diag *d)
{
    struct wire w = {.buf = buf, .len = len, .d = d};
    struct wire_depth top = {0, 0, 0};
    enum kiln_status st = wire_message(&w, &onnx__model_proto__descriptor, 0, len, top);
    if (st != KILN_OK)
        return st;
    /* strings and bytes are copied once, hence + len */
    uint64_t budget = (uint64_t)len * WIRE_BUDGET_FACTOR + WIRE_BUDGET_SLACK;
    if (w.decoded + len > budget)
        return wire_fail(&w, KILN_ERR_UNSUPPORTED,
                         "the model would take about %llu MiB to decode, far more than its "
                         "%zu bytes justify",
                         (unsigned long long)((w.decoded + len) >> 20), len);
    return KILN_OK;
}
