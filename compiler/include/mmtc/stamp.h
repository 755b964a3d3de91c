/* The compiler's identity, generated at build time (compiler/source_stamp.cmake) into the
   small library mmtc_stamp, which programs that read the compile cache without the
   compiler link (mmtrun). Plain C. */
#ifndef MMTC_STAMP_H
#define MMTC_STAMP_H

#ifdef __cplusplus
extern "C" {
#endif

/* A SHA-256 of every source file that decides what the compiler generates. */
const char* mmt_compiler_source_stamp(void);
/* The compiler's version, its LLVM's and the source stamp: what a cached object's key
   depends on besides the machine and the specs (mmt::cache_key). */
const char* mmt_compiler_identity(void);

#ifdef __cplusplus
}
#endif

#endif
