/*
 * onnx.h - the ONNX frontend: ModelProto -> kiln graph.
 *
 * Loads every field of ModelProto/GraphProto that matters: opset imports,
 * initializers (raw_data and every typed field), external data (relative to the
 * model's folder, bounds-checked against the file, mapped read-only), Constant
 * nodes (turned into constant values), inputs that are also initializers
 * (inputs with a default), value_info, dim_param symbols, every attribute kind,
 * sub-graphs of If/Loop/Scan. Then sorts nodes topologically and runs shape
 * inference.
 *
 * An import of ai.onnx or ai.onnx.ml newer than the newest version kiln
 * implements is refused, naming the domain, the version and kiln's newest.
 *
 * Unknown ops are all reported in one run, each as
 *   MODEL: node 'NAME' (OP): error: unsupported op 'OP' (domain 'D', opset N)
 * Malformed, truncated or hostile input (sizes that don't add up, dims that
 * overflow, nesting deeper than KILN_ONNX_MAX_DEPTH, ...) gets a clear error,
 * never a crash or an allocation beyond what the file's size justifies.
 */
#ifndef KILN_ONNX_H
#define KILN_ONNX_H

#include "../ir/ir.h"

#define KILN_ONNX_MAX_DEPTH 64 /* nested sub-graphs / types */

struct kiln_onnx_opts {
    bool no_infer;          /* skip shape inference (tests of the loader alone) */
    bool allow_newer_opset; /* an ai.onnx / ai.onnx.ml import newer than kiln's
                               newest (KILN_OPSET_*_MAX) is a warning, not an
                               error; its ops are read as the newest version's */
    bool strict_shapes;     /* a value_info or output shape that inference
                               contradicts is an error, not a warning */
};

enum kiln_status kiln_onnx_load_file(const char *path, const struct kiln_onnx_opts *opts,
                                     struct kiln_graph **out, struct kiln_diag *d);
/* `dir` resolves external data; NULL forbids external data. */
enum kiln_status kiln_onnx_load_buffer(const void *buf, size_t len, const char *dir,
                                       const struct kiln_onnx_opts *opts, struct kiln_graph **out,
                                       struct kiln_diag *d);

#endif
