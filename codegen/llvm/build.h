/*
 * build.h - private to codegen/llvm: the module builder that emit.c's file
 * output and jit.c's in-process run share.
 */
#ifndef KILN_LLVM_BUILD_H
#define KILN_LLVM_BUILD_H

#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>

#include "codegen/llvm/llvm.h"

/* The target machine o asks for (the host's by default); *triple_out (free it) its triple.
 * NULL with a diagnostic on a bad triple. */
LLVMTargetMachineRef kiln_llvm_target_machine(const struct kiln_llvm_opts *o, struct kiln_diag *d,
                                              char **triple_out);
/* Build m's module in ctx for tm and optimize it at o->opt_level; *mod_out is
 * the caller's (NULL on failure). */
enum kiln_status kiln_llvm_build(const struct kiln_lmodule *m, const struct kiln_llvm_opts *o,
                                 LLVMContextRef ctx, LLVMTargetMachineRef tm, const char *triple,
                                 LLVMModuleRef *mod_out, struct kiln_diag *d);

#endif
