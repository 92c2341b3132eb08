/*
 * driver.h - private: what the driver's command files share (tools/kiln.c,
 * tools/compile.c).
 */
#ifndef KILN_DRIVER_H
#define KILN_DRIVER_H

#include <stdbool.h>

#include "ir/ir.h"

enum { EXIT_OK = 0, EXIT_COMPILE = 1, EXIT_USAGE = 2 };

/* "kiln: error: <fmt with arg>" and the --help hint on stderr; returns EXIT_USAGE. */
int kiln_usage_error(const char *fmt, const char *arg);
bool kiln_has_suffix(const char *s, const char *suffix);
/* Record a --dim NAME=VALUE binding (applied by kiln_load_input); false if malformed. */
bool kiln_dim_binding_add(const char *spec);
/* --allow-newer-opset: kiln_load_input warns about, rather than refuses, an
 * ai.onnx / ai.onnx.ml import newer than kiln's newest. */
extern bool kiln_load_newer_opset;
/* --strict-shapes: a declared shape (value_info, graph outputs) that inference
 * contradicts is an error; by default a warning, and inference wins. */
extern bool kiln_load_strict_shapes;
/* Load an .onnx or .kir file, verify a .kir, apply the --dim bindings. */
enum kiln_status kiln_load_input(const char *path, struct kiln_graph **g, struct kiln_diag *d);

int kiln_cmd_compile(int argc, char **argv);
int kiln_cmd_run(int argc, char **argv);
int kiln_cmd_profile(int argc, char **argv);

#endif
